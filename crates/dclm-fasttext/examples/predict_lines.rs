//! Like `fasttext predict-prob MODEL FILE K`: one line of input per prediction, printing `label prob` pairs,
//! with the probabilities also as f32 bit patterns so outputs can be compared exactly with official fastText.
//!
//! `cargo run --release -p dclm-fasttext --example predict_lines -- MODEL INPUT.txt [K]`

use std::io::{BufRead, Write};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut it = std::env::args().skip(1);
    let (Some(model), Some(input)) = (it.next(), it.next()) else {
        eprintln!("usage: predict_lines MODEL INPUT.txt [K]");
        std::process::exit(2);
    };
    let k: usize = it.next().map(|s| s.parse()).transpose()?.unwrap_or(1);
    let ft = dclm_fasttext::FastText::load(&PathBuf::from(model))?;
    let reader = std::io::BufReader::new(std::fs::File::open(&input)?);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in reader.split(b'\n') {
        let line = line?;
        let text = String::from_utf8_lossy(&line);
        let preds = ft.predict(&text, k, 0.0);
        let cells: Vec<String> = preds
            .iter()
            .map(|p| format!("{} {:08x}", p.label, p.prob.to_bits()))
            .collect();
        writeln!(out, "{}", cells.join(" "))?;
    }
    Ok(())
}
