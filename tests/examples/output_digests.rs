//! Print the data-output digests of a baseline run folder as JSON (what `tests/golden/*.json` hold):
//! `cargo run -p dclm-tests --example output_digests -- RUN_DIR > tests/golden/NAME.json`.

fn main() {
    let dir = std::env::args().nth(1).expect("usage: output_digests RUN_DIR");
    let d = dclm_tests::output_digests(std::path::Path::new(&dir)).expect("reading the run folder");
    println!("{}", serde_json::to_string_pretty(&d).expect("json"));
}
