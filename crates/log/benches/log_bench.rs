//! Log benchmark (prints figures; no thresholds). Run with
//! `cargo bench -p cairn-log --bench log_bench` (env: CONNS, SECS, STORE_ENTRIES).
//!
//! 1. store: durable appends of 1 KiB raw entries in batches (fsync file + dir per batch);
//! 2. storage bytes per entry beyond the entry itself;
//! 3. inclusion-proof verification time;
//! 4. HTTP end to end on loopback at the default 500 ms interval: sustained appends/s and
//!    p50/p99 submit-to-receipt latency, with one DSSE signature check per envelope
//!    (Ed25519 builder key, 1 KiB payloads) and with `--accept-unverified`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn_formats::dsse::IN_TOTO_PAYLOAD_TYPE;
use cairn_log::merkle;
use cairn_log::note::{Signer, TYPE_ED25519};
use cairn_log::server::{ServeConfig, DEFAULT_DEDUP_CAPACITY, DEFAULT_INTERVAL, DEFAULT_MAX_BODY};
use cairn_log::store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ORIGIN: &str = "bench.example/log";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn dir_bytes(p: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let m = e.metadata().unwrap();
            total += if m.is_dir() {
                dir_bytes(&e.path())
            } else {
                m.len()
            };
        }
    }
    total
}

fn main() {
    // `cargo bench` passes --bench; ignore arguments.
    let n = env_or("STORE_ENTRIES", 200_000);
    let tmp = tempfile::tempdir().unwrap();
    store_bench(tmp.path(), n, 5_000);
    store_bench(tmp.path(), n, 1_000);
    proof_bench(tmp.path());
    let conns = env_or("CONNS", 3_000) as usize;
    let secs = env_or("SECS", 10);
    http_bench(true, conns, secs);
    http_bench(false, conns, secs);
    http_bench(true, 50, secs);
}

fn store_bench(base: &Path, n: u64, batch: usize) {
    let dir = base.join(format!("store-{batch}"));
    let signer = Signer::generate(ORIGIN, TYPE_ED25519).unwrap();
    let mut store = Store::open(&dir, signer, ORIGIN).unwrap();
    let entries: Vec<Vec<u8>> = (0..batch)
        .map(|i| format!("{i:01024}").into_bytes())
        .collect();
    let start = Instant::now();
    let mut done = 0u64;
    while done < n {
        store.append(&entries).unwrap();
        done += batch as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    let bytes = dir_bytes(&dir);
    println!(
        "store: {done} x 1 KiB entries in batches of {batch}, durable: {:.0} appends/s ({:.2} ms per batch)",
        done as f64 / secs,
        secs * 1000.0 / (done as f64 / batch as f64)
    );
    println!(
        "storage: {bytes} bytes on disk for {done} entries of 1024 bytes: {:.1} bytes per entry beyond the entry",
        bytes as f64 / done as f64 - 1024.0
    );
}

fn proof_bench(base: &Path) {
    let dir2 = base.join("proofs");
    let mut store = Store::open(
        &dir2,
        Signer::generate(ORIGIN, TYPE_ED25519).unwrap(),
        ORIGIN,
    )
    .unwrap();
    let entries: Vec<Vec<u8>> = (0..1_048_576u64)
        .map(|i| i.to_be_bytes().to_vec())
        .collect();
    for chunk in entries.chunks(65_536) {
        store.append(chunk).unwrap();
    }
    let size = store.size();
    let root = store.root();
    let samples: Vec<(u64, merkle::Hash, Vec<merkle::Hash>)> = (0..2_000u64)
        .map(|k| {
            let i = (k * 524_287) % size;
            (
                i,
                merkle::leaf_hash(&entries[i as usize]),
                store.inclusion_proof(i).unwrap(),
            )
        })
        .collect();
    let rounds = 50;
    let start = Instant::now();
    for _ in 0..rounds {
        for (i, leaf, proof) in &samples {
            merkle::verify_inclusion(*i, size, leaf, proof, &root).unwrap();
        }
    }
    let per = start.elapsed().as_secs_f64() / (rounds * samples.len()) as f64;
    println!(
        "verify: inclusion proof at tree size {size} ({} hashes): {:.2} us per verification",
        samples[0].2.len(),
        per * 1e6
    );
}

fn http_bench(check_signatures: bool, conns: usize, secs: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let builder = cairn_sign::PrivateKey::generate(cairn_sign::Algorithm::Ed25519).unwrap();
    // Enough pre-signed 1 KiB envelopes for the run.
    let want = (conns as u64 * (secs + 2) * 4).clamp(20_000, 150_000) as usize;
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..want)
            .map(|i| {
                let payload = format!("{{\"n\":\"{i:01014}\"}}");
                let env = cairn_sign::dsse::sign_envelope(IN_TOTO_PAYLOAD_TYPE, payload.as_bytes(), &[&builder]).unwrap();
                let body = env.to_json();
                let mut req = format!("POST /add HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
                req.extend_from_slice(body.as_bytes());
                req
            })
            .collect(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let cfg = ServeConfig {
        dir: tmp.path().join("log"),
        signer: Signer::generate(ORIGIN, TYPE_ED25519).unwrap(),
        pq_signer: None,
        origin: ORIGIN.into(),
        trust_keys: if check_signatures {
            vec![builder.public_key().clone()]
        } else {
            Vec::new()
        },
        accept_unverified: !check_signatures,
        interval: DEFAULT_INTERVAL,
        max_body: DEFAULT_MAX_BODY,
        dedup_capacity: DEFAULT_DEDUP_CAPACITY,
        witnesses: Vec::new(),
    };
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            cairn_log::server::serve(cfg, l).await.unwrap();
        });
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let next = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let latencies: Arc<Mutex<Vec<(Instant, Duration)>>> = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..conns {
            let (bodies, next, stop, latencies, errors) = (
                bodies.clone(),
                next.clone(),
                stop.clone(),
                latencies.clone(),
                errors.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut s = match tokio::net::TcpStream::connect(addr).await {
                    Ok(s) => s,
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                };
                let mut buf = vec![0u8; 64 * 1024];
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if i >= bodies.len() {
                        break;
                    }
                    let t0 = Instant::now();
                    if s.write_all(&bodies[i]).await.is_err()
                        || !read_response(&mut s, &mut buf).await
                    {
                        errors.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    // Recorded at once: tasks still waiting at the stop are aborted.
                    latencies
                        .lock()
                        .unwrap()
                        .push((Instant::now(), t0.elapsed()));
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs(secs)).await;
        stop.store(true, Ordering::Relaxed);
        drop(tasks);
    });
    let stopped = Instant::now();
    // Do not wait for requests still queued at a saturated server: they are not counted.
    rt.shutdown_timeout(Duration::from_millis(100));
    let elapsed = (stopped - start).as_secs_f64();
    let mut l: Vec<Duration> = latencies
        .lock()
        .unwrap()
        .iter()
        .filter(|(done, _)| *done <= stopped)
        .map(|(_, d)| *d)
        .collect();
    l.sort();
    let pct = |p: f64| {
        l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "http ({}, {conns} connections, interval 500 ms): {} receipts in {elapsed:.1} s = {:.0} appends/s; latency p50 {:.0} ms, p99 {:.0} ms; {} errors",
        if check_signatures { "Ed25519 DSSE check per envelope" } else { "--accept-unverified" },
        l.len(),
        l.len() as f64 / elapsed,
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
        errors.load(Ordering::Relaxed)
    );
}

/// Reads one HTTP/1.1 response with a Content-Length body; true on 200.
async fn read_response(s: &mut tokio::net::TcpStream, buf: &mut [u8]) -> bool {
    let mut have = 0usize;
    loop {
        let n = match s.read(&mut buf[have..]).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        have += n;
        if let Some(end) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let ok = head.starts_with("http/1.1 200");
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            let mut body = have - (end + 4);
            while body < len {
                match s.read(buf).await {
                    Ok(0) | Err(_) => return false,
                    Ok(n) => body += n,
                }
            }
            return ok;
        }
        if have == buf.len() {
            return false;
        }
    }
}
