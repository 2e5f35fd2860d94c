//! Device selection for training: `cpu` (the default and what CI tests), `cuda` / `cuda:N` (needs the crate's
//! `cuda` feature, which forwards candle's), or `auto` (the first CUDA device when the feature is built and a
//! device answers, else the CPU).

use candle_core::Device;

use crate::error::{Result, TrainError};

/// The device named by `spec`: `cpu`, `cuda` (= `cuda:0`), `cuda:N`, or `auto`.
pub fn select_device(spec: &str) -> Result<Device> {
    let s = spec.trim().to_ascii_lowercase();
    let cuda = |ordinal: usize| {
        Device::new_cuda(ordinal).map_err(|e| {
            TrainError::Config(format!(
                "device `{spec}`: {e}{}",
                if cfg!(feature = "cuda") {
                    ""
                } else {
                    " (dclm-train was built without its `cuda` feature)"
                }
            ))
        })
    };
    match s.as_str() {
        "cpu" => Ok(Device::Cpu),
        "cuda" | "gpu" => cuda(0),
        "auto" => Ok(if cfg!(feature = "cuda") {
            Device::new_cuda(0).unwrap_or(Device::Cpu)
        } else {
            Device::Cpu
        }),
        _ => match s.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(n)) => cuda(n),
            _ => Err(TrainError::Config(format!(
                "unknown device `{spec}` (allowed: cpu, cuda, cuda:N, auto)"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_and_auto_and_errors() {
        assert!(select_device("cpu").unwrap().is_cpu());
        assert!(select_device(" CPU ").unwrap().is_cpu());
        let err = select_device("tpu").unwrap_err().to_string();
        assert!(err.contains("unknown device `tpu`"), "{err}");
        assert!(select_device("cuda:x").is_err());
        if !cfg!(feature = "cuda") {
            assert!(select_device("auto").unwrap().is_cpu());
            let err = select_device("cuda:0").unwrap_err().to_string();
            assert!(err.contains("without its `cuda` feature"), "{err}");
        }
    }
}
