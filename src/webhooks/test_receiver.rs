//! A webhook receiver for the tests (here and in the server crate): a Python HTTP server on a
//! free port that checks each delivery's signature with the Standard Webhooks reference
//! implementation (the `standardwebhooks` package from PyPI, installed by `.ci/mailtest.sh`
//! beside the mail servers) and records it. Told through a state file it reads on every
//! request, it fails the next N deliveries,
//! answer with another status, and be stopped and started again on its port (an endpoint that
//! is down for a while).

use std::{collections::BTreeMap, path::PathBuf};

use serde::Deserialize;

use crate::mail::test_servers::{free_port, require_module, temp_dir, Server};

const RECEIVER: &str = r#"
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from standardwebhooks.webhooks import Webhook

port, log_path, state_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
lock = threading.Lock()

def load():
    with open(state_path) as f:
        return json.load(f)

def save(state):  # the test changes the same file: it holds the lock only per request
    with open(state_path, "w") as f:
        json.dump(state, f)

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        with lock:
            state = load()
            verified = {}
            for secret in state["secrets"]:
                try:
                    Webhook(secret).verify(body, headers)
                    verified[secret] = True
                except Exception:
                    verified[secret] = False
            if state["fail_next"] > 0:
                state["fail_next"] -= 1
                status = 500
            else:
                status = state["status"]
            save(state)
            with open(log_path, "a") as f:
                f.write(json.dumps({"path": self.path, "id": headers.get("webhook-id"), "timestamp": headers.get("webhook-timestamp"),
                                    "signature": headers.get("webhook-signature"), "body": body.decode(), "verified": verified,
                                    "status": status}) + "\n")
        self.answer(status)

    def answer(self, status):
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"#;

/// One request the receiver got.
#[derive(Debug, Clone, Deserialize)]
pub struct Received {
    pub path: String,
    /// The `Webhook-Id`, `Webhook-Timestamp` and `Webhook-Signature` headers.
    pub id: Option<String>,
    pub timestamp: Option<String>,
    pub signature: Option<String>,
    pub body: String,
    /// For each secret the receiver was given, whether `standardwebhooks` verified the request.
    pub verified: BTreeMap<String, bool>,
    /// What the receiver answered.
    pub status: u16,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a delivery's body is JSON")
    }

    pub fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_owned()
    }
}

pub struct Receiver {
    server: Option<Server>,
    pub port: u16,
    log: PathBuf,
    state: PathBuf,
}

impl Receiver {
    pub fn start() -> Self {
        require_module("standardwebhooks", "standardwebhooks");
        let dir = temp_dir("webhook-receiver");
        let (log, state) = (dir.join("received.jsonl"), dir.join("state.json"));
        std::fs::write(&state, r#"{"fail_next": 0, "status": 204, "secrets": []}"#).unwrap();
        let mut receiver = Self { server: None, port: free_port(), log, state };
        receiver.up();
        receiver
    }

    /// The URL of a path on the receiver.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Starts it again on its port after [`Receiver::down`].
    pub fn up(&mut self) {
        let port = self.port.to_string();
        let args = ["-c", RECEIVER, &port, self.log.to_str().unwrap(), self.state.to_str().unwrap()];
        self.server = Some(Server::spawn("webhook receiver", &args, self.port));
    }

    /// Stops it: connections to its port are refused until [`Receiver::up`].
    pub fn down(&mut self) {
        self.server = None;
    }

    fn change(&self, change: serde_json::Value) {
        let mut state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&self.state).unwrap()).unwrap();
        for (key, value) in change.as_object().unwrap() {
            state[key] = value.clone();
        }
        std::fs::write(&self.state, state.to_string()).unwrap();
    }

    /// Answers the next `n` deliveries with 500.
    pub fn fail_next(&self, n: u32) {
        self.change(serde_json::json!({ "fail_next": n }));
    }

    /// Answers every delivery with `status` from now on.
    pub fn answer_with(&self, status: u16) {
        self.change(serde_json::json!({ "status": status }));
    }

    /// The signing secrets to verify deliveries with.
    pub fn verify_with(&self, secrets: &[&str]) {
        self.change(serde_json::json!({ "secrets": secrets }));
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("receiver log line"))
            .collect()
    }

    /// The requests it answered with 2xx.
    pub fn accepted(&self) -> Vec<Received> {
        self.received().into_iter().filter(|r| (200..300).contains(&r.status)).collect()
    }
}
