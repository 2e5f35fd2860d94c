//! Integration tests of dclm-train, one binary: a module per concern.

mod data_tokenize;
mod data_tokshuf;
mod model_conformance;
mod model_train;
mod torch_interop;
