use std::sync::atomic::{AtomicU32, Ordering};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_to_one_call_take_turns_and_leave_nothing_behind() {
    let turns = Arc::new(Turns::default());
    let inside = Arc::new(AtomicU32::new(0));
    let most = Arc::new(AtomicU32::new(0));
    let mut tasks = Vec::new();
    for n in 0..16 {
        let (turns, inside, most) = (turns.clone(), inside.clone(), most.clone());
        tasks.push(tokio::spawn(async move {
            // eight inputs to call a, eight spread over calls b0..b7
            let call = if n % 2 == 0 {
                "a".to_string()
            } else {
                format!("b{n}")
            };
            let _turn = turns.take(&call).await;
            if call == "a" {
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        most.load(Ordering::SeqCst),
        1,
        "two inputs to one call at once"
    );
    assert_eq!(
        turns.busy(),
        0,
        "entries left for calls with nothing waiting"
    );
}
