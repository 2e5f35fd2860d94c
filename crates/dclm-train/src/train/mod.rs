//! DCLM's training recipe (open_lm's hyperparameters per scale) for the open_lm model: presets for every competition scale,
//! AdamW + warmup/cosine schedule + clipping, CE + z-loss, and a [`Trainer`] with checkpoints and exact resume.
//!
//! ```no_run
//! use candle_core::Device;
//! use dclm_train::train::{Preset, TrainOptions, Trainer};
//! let preset = Preset::by_name("micro").unwrap();
//! let mut trainer = Trainer::new(preset.clone(), TrainOptions::new("/tmp/run"), &Device::Cpu).unwrap();
//! // Any iterator of global batches: `global_batch` sequences of `seq_len + 1` tokens each.
//! let batches = (0..).map(|i| vec![vec![(i % 200) as u32; preset.model.seq_len + 1]; preset.global_batch]);
//! let record = trainer.fit(batches).unwrap();
//! println!("final loss {:?}", record.final_loss);
//! ```

mod device;
mod loss;
mod optim;
mod presets;
mod trainer;

pub use crate::model::ComputeDtype;
pub use device::select_device;
pub use loss::{cross_entropy_z_loss, LossOutput};
pub use optim::{clip_grad_norm, collect_grads, global_grad_norm, AdamW, AdamWConfig, CosineSchedule};
pub use presets::{Preset, DCLM_VOCAB};
pub use trainer::{load_model, manifest_hash, run, CheckpointState, RunRecord, StepLog, TrainOptions, Trainer};
