//! A redirect from Microsoft's side is never followed: a 307 from the token endpoint would
//! re-send the form (the app's secret, an assertion or a refresh token) to the `Location` host.

use std::{
    io::{Read, Write},
    net::TcpListener,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use microsoft::identity::{AppCredential, AppCredentials, Grant, IdentityClient};
use model::retry::RetryPolicy;
use secrecy::SecretString;

/// A listener that answers every request with `answer`; counts the requests it got.
fn listener(answer: impl Fn(u16) -> String + Send + 'static) -> (u16, Arc<AtomicUsize>) {
    let socket = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = socket.local_addr().expect("addr").port();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    std::thread::spawn(move || {
        for stream in socket.incoming().flatten() {
            let mut stream = stream;
            let mut buffer = [0u8; 8192];
            let _ = stream.read(&mut buffer);
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = stream.write_all(answer(port).as_bytes());
        }
    });
    (port, seen)
}

#[tokio::test]
async fn a_token_endpoint_that_redirects_gets_no_second_request() {
    let (thief, stolen) =
        listener(|_| "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}".to_owned());
    let (endpoint, asked) = listener(move |_| {
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{thief}/steal\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    });
    let app = AppCredentials {
        client_id: "11111111-2222-4333-8444-555555555555".to_owned(),
        credential: AppCredential::ClientSecret(SecretString::from("the-app-secret")),
    };
    let identity = IdentityClient::new(microsoft::http::loopback_client(), RetryPolicy::default());
    let tenant = "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11".parse().expect("tenant");
    let answer = identity
        .token(
            &format!("http://127.0.0.1:{endpoint}"),
            tenant,
            "https://graph.microsoft.com/.default",
            &app,
            Grant::ClientCredentials,
        )
        .await;
    let err = answer.expect_err("a redirect is not a token");
    assert!(err.to_string().contains("307"), "{err}");
    assert!(!err.to_string().contains("the-app-secret"), "{err}");
    assert_eq!(asked.load(Ordering::SeqCst), 1, "asked once, not retried");
    assert_eq!(stolen.load(Ordering::SeqCst), 0, "the Location host got nothing");
}
