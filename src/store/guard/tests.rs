use super::*;

#[test]
fn a_result_passes_through_and_a_panic_becomes_its_message() {
    assert_eq!(catching(|| 7), Ok(7));
    assert_eq!(
        catching(|| -> u8 { panic!("static text") }),
        Err("static text".to_string())
    );
    let page = 91;
    assert_eq!(
        catching(|| -> u8 { panic!("page type {page}") }),
        Err("page type 91".to_string())
    );
    assert_eq!(
        catching(|| -> u8 { std::panic::panic_any(5u32) }),
        Err("redb stopped on a page it could not read".to_string())
    );
}

#[test]
fn catching_nests_and_restores_the_outer_state() {
    let inner = catching(|| catching(|| -> u8 { panic!("inner") }));
    assert_eq!(inner, Ok(Err("inner".to_string())));
    assert!(!CATCHING.get(), "left set after catching returned");
    assert_eq!(
        catching(|| {
            let _ = catching(|| -> u8 { panic!("inner") });
            CATCHING.get()
        }),
        Ok(true)
    );
}
