//! The baseline for `scripts/load-calls.sh`: a bare actix-web + rustls "hello" endpoint, with
//! callvault's own TLS set-up (same provider, versions and ciphers) and nothing else.
//!
//!   cargo run --release --example hello -- 127.0.0.1:9443 /tmp/hello-tls
//!
//! Writes a self-signed pair into the directory (created if missing) and serves until killed.

use std::net::TcpListener;
use std::path::PathBuf;

use actix_web::{App, HttpResponse, HttpServer, web};
use callvault::tls::{self, ReloadableCert, TlsPaths};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:9443".into());
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "/tmp/callvault-hello".into()));
    std::fs::create_dir_all(&dir)?;
    let paths = TlsPaths {
        cert: dir.join("tls.crt"),
        key: dir.join("tls.key"),
        generated: true,
    };
    tls::generate_self_signed(&paths, &[])?;
    let resolver = ReloadableCert::new(tls::load(&paths)?);
    let config = tls::server_config(
        resolver,
        rustls::server::WebPkiClientVerifier::no_client_auth(),
    )?;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    HttpServer::new(|| {
        App::new().route(
            "/hello",
            web::post().to(|| async { HttpResponse::Created().body("hello") }),
        )
    })
    .workers(workers)
    .listen_rustls_0_23(TcpListener::bind(&listen)?, config)?
    .run()
    .await?;
    Ok(())
}
