//! A stand-in for an implementation under test, driven by its argv, for executor tests.
//!
//! Arguments are actions run left to right:
//!
//! | action                  | effect                                                        |
//! |-------------------------|---------------------------------------------------------------|
//! | `print TEXT`            | line on stdout                                                |
//! | `eprint TEXT`           | line on stderr                                                |
//! | `sleep MS`              | sleep                                                         |
//! | `hang`                  | sleep forever                                                 |
//! | `ignore-term`           | ignore SIGTERM from now on (only SIGKILL ends it)             |
//! | `exit N`                | exit with status N                                            |
//! | `crash`                 | abort (SIGABRT)                                               |
//! | `segv`                  | raise SIGSEGV                                                 |
//! | `write PATH CONTENT`    | write a file                                                  |
//! | `env-dump PATH`         | write its environment, `K=V` per line, sorted                 |
//! | `bind-udp PORT`         | bind 127.0.0.1:PORT/udp and keep it                           |
//! | `bind-tcp PORT`         | listen on 127.0.0.1:PORT/tcp and keep it                      |
//! | `fork-child PATH`       | start a copy of itself that hangs (same process group), write its pid to PATH |
//! | `check-group`           | exit 99 unless it leads its own process group                 |
//! | `once PATH`             | exit 1 if PATH exists, else create it and go on (passes once) |
//!
//! Without actions it exits 0. A malformed argv exits 2 with a message on stderr.

use std::io::Write;

fn arg(it: &mut impl Iterator<Item = String>, action: &str) -> String {
    it.next().unwrap_or_else(|| {
        eprintln!("fake-iut: `{action}` needs an argument");
        std::process::exit(2)
    })
}

fn num<T: std::str::FromStr>(s: &str, action: &str) -> T {
    s.parse().unwrap_or_else(|_| {
        eprintln!("fake-iut: `{action}`: `{s}` is not a number");
        std::process::exit(2)
    })
}

fn main() {
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(action) = it.next() {
        match action.as_str() {
            "print" => {
                println!("{}", arg(&mut it, "print"));
                let _ = std::io::stdout().flush();
            }
            "eprint" => eprintln!("{}", arg(&mut it, "eprint")),
            "sleep" => std::thread::sleep(std::time::Duration::from_millis(num(&arg(&mut it, "sleep"), "sleep"))),
            "hang" => loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            },
            "ignore-term" => unsafe {
                let _ =
                    nix::sys::signal::signal(nix::sys::signal::Signal::SIGTERM, nix::sys::signal::SigHandler::SigIgn);
            },
            "exit" => std::process::exit(num(&arg(&mut it, "exit"), "exit")),
            "crash" => std::process::abort(),
            "once" => {
                let path = arg(&mut it, "once");
                if std::path::Path::new(&path).exists() {
                    eprintln!("fake-iut: {path} exists: this is not the first run");
                    std::process::exit(1);
                }
                std::fs::write(&path, "").unwrap_or_else(|e| panic!("write {path}: {e}"));
            }
            "segv" => {
                let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSEGV);
            }
            "write" => {
                let path = arg(&mut it, "write");
                let content = arg(&mut it, "write");
                std::fs::write(&path, content).unwrap_or_else(|e| panic!("write {path}: {e}"));
            }
            "env-dump" => {
                let path = arg(&mut it, "env-dump");
                let mut vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
                vars.sort();
                std::fs::write(&path, vars.join("\n") + "\n").unwrap_or_else(|e| panic!("write {path}: {e}"));
            }
            "bind-udp" => {
                let port: u16 = num(&arg(&mut it, "bind-udp"), "bind-udp");
                keep.push(Box::new(std::net::UdpSocket::bind(("127.0.0.1", port)).expect("bind udp")));
            }
            "bind-tcp" => {
                let port: u16 = num(&arg(&mut it, "bind-tcp"), "bind-tcp");
                keep.push(Box::new(std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind tcp")));
            }
            "fork-child" => {
                let path = arg(&mut it, "fork-child");
                let child = std::process::Command::new(std::env::current_exe().expect("own path"))
                    .args(["ignore-term", "hang"])
                    .spawn()
                    .expect("spawn child");
                std::fs::write(&path, child.id().to_string()).unwrap_or_else(|e| panic!("write {path}: {e}"));
                // Dropped without waiting: the child must outlive this process unless the
                // host kills the group.
                keep.push(Box::new(child.id()));
            }
            "check-group" => {
                if nix::unistd::getpgrp() != nix::unistd::getpid() {
                    eprintln!("fake-iut: not the leader of its process group");
                    std::process::exit(99);
                }
            }
            other => {
                eprintln!("fake-iut: unknown action `{other}`");
                std::process::exit(2);
            }
        }
    }
}
