//! The `dclm` binary end to end: one test binary, one module per concern (run safety, dedup phases over ranks, `bench`,
//! object storage, token shards read by webdataset, and the Slurm, Kubernetes and Ray launchers).

mod bench;
mod checkpoints;
mod datasets;
mod dedup_phases;
mod k8s_manifests;
mod launch_train;
mod ray_driver;
mod run_safety;
mod s3_stage;
mod slurm;
mod support;
mod tokshuf;
