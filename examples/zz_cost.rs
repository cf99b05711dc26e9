use std::time::Instant;
fn main() {
    let n = 2000;
    for _ in 0..2 {
        let t = Instant::now();
        for _ in 0..n {
            tinyloop::run(async {});
        }
        println!("run on main thread:  {:?} per call", t.elapsed() / n);
        let t = std::thread::spawn(move || {
            let t = Instant::now();
            for _ in 0..n {
                tinyloop::run(async {});
            }
            t.elapsed() / n
        })
        .join()
        .unwrap();
        println!("run on other thread: {:?} per call", t);
    }
}
