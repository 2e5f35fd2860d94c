//! A plain-Rust float32 forward pass of open_lm's `Transformer` (gain-only LayerNorm, QK-norm, rotary,
//! SwiGLU, untied head) for the tiny eval model of `shared/conformance/eval/`, implementing
//! [`LanguageModel`]. Test and benchmark support only: the real model comes from `dclm-train` via an adapter.

use dclm_eval::{
    argmax, greedy_generate_with, log_softmax_at, EvalError, GenRequest, LanguageModel, LogLik, LoglikRequest,
    StopCriterion,
};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::Path;

struct Layer {
    attn_norm: Vec<f32>,
    in_proj: Vec<f32>,
    q_norm: Vec<f32>,
    k_norm: Vec<f32>,
    out_proj: Vec<f32>,
    ffn_norm: Vec<f32>,
    w12: Vec<f32>,
    w3: Vec<f32>,
    inv_freq: Vec<f32>,
}

/// The tiny open_lm model (d_model, heads and FFN width read from the tensor shapes).
pub(crate) struct TinyOpenLm {
    d: usize,
    heads: usize,
    hidden: usize,
    vocab: usize,
    emb: Vec<f32>,
    layers: Vec<Layer>,
    norm: Vec<f32>,
    output: Vec<f32>,
    /// Run the requests of a batch in parallel (rayon) rather than one after another.
    pub parallel: bool,
}

fn read_safetensors(path: &Path) -> HashMap<String, (Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    let mut out = HashMap::new();
    for (name, info) in header {
        if name == "__metadata__" {
            continue;
        }
        let shape: Vec<usize> = info["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        let off = info["data_offsets"].as_array().unwrap();
        let raw = &data[off[0].as_u64().unwrap() as usize..off[1].as_u64().unwrap() as usize];
        let vals: Vec<f32> = match info["dtype"].as_str().unwrap() {
            "BF16" => raw
                .chunks_exact(2)
                .map(|c| f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16))
                .collect(),
            "F32" => raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            other => panic!("dtype {other}"),
        };
        out.insert(name, (shape, vals));
    }
    out
}

/// `y[o] = Σ_i w[o, i] x[i]` for a row-major `[out, in]` weight.
fn matvec(w: &[f32], x: &[f32], out: &mut [f32]) {
    let n = x.len();
    for (o, y) in out.iter_mut().enumerate() {
        let row = &w[o * n..(o + 1) * n];
        *y = row.iter().zip(x).map(|(a, b)| a * b).sum();
    }
}

fn layer_norm(x: &[f32], g: &[f32], out: &mut [f32]) {
    let n = x.len() as f32;
    let mean = x.iter().sum::<f32>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let inv = 1.0 / (var + 1e-5).sqrt();
    for ((o, v), gi) in out.iter_mut().zip(x).zip(g) {
        *o = (v - mean) * inv * gi;
    }
}

impl TinyOpenLm {
    /// Load `tiny_eval_model.bf16.safetensors` (BF16 upcast to f32), `heads` attention heads.
    pub(crate) fn load(path: &Path, heads: usize) -> Self {
        let mut t = read_safetensors(path);
        let n_layers = (0..)
            .take_while(|l| t.contains_key(&format!("layers.{l}.attention.in_proj.weight")))
            .count();
        let mut take = |k: &str| t.remove(k).unwrap_or_else(|| panic!("missing tensor {k}"));
        let (eshape, emb) = take("tok_embeddings.weight");
        let (vocab, d) = (eshape[0], eshape[1]);
        let mut layers = Vec::new();
        let mut hidden = 0;
        for l in 0..n_layers {
            let p = format!("layers.{l}.");
            let (w3s, w3) = take(&format!("{p}feed_forward.w3.weight"));
            hidden = w3s[1];
            layers.push(Layer {
                attn_norm: take(&format!("{p}attention_norm.weight")).1,
                in_proj: take(&format!("{p}attention.in_proj.weight")).1,
                q_norm: take(&format!("{p}attention.q_norm.weight")).1,
                k_norm: take(&format!("{p}attention.k_norm.weight")).1,
                out_proj: take(&format!("{p}attention.out_proj.weight")).1,
                ffn_norm: take(&format!("{p}ffn_norm.weight")).1,
                w12: take(&format!("{p}feed_forward.w12.weight")).1,
                w3,
                inv_freq: take(&format!("{p}attention.pos_embed.inv_freq")).1,
            });
        }
        let norm = take("norm.weight").1;
        let output = take("output.weight").1;
        TinyOpenLm {
            d,
            heads,
            hidden,
            vocab,
            emb,
            layers,
            norm,
            output,
            parallel: true,
        }
    }

    /// Final hidden states (after the last LayerNorm) for every position of `ids`.
    fn hidden_states(&self, ids: &[u32]) -> Vec<Vec<f32>> {
        let (d, h) = (self.d, self.heads);
        let hd = d / h;
        let t_len = ids.len();
        let mut x: Vec<Vec<f32>> = ids
            .iter()
            .map(|&i| self.emb[i as usize * d..(i as usize + 1) * d].to_vec())
            .collect();
        let mut tmp = vec![0f32; d];
        let mut qkv = vec![0f32; 3 * d];
        for layer in &self.layers {
            let (mut qs, mut ks, mut vs) = (
                Vec::with_capacity(t_len),
                Vec::with_capacity(t_len),
                Vec::with_capacity(t_len),
            );
            for (t, xt) in x.iter().enumerate() {
                layer_norm(xt, &layer.attn_norm, &mut tmp);
                matvec(&layer.in_proj, &tmp, &mut qkv);
                let mut q = vec![0f32; d];
                let mut k = vec![0f32; d];
                layer_norm(&qkv[..d], &layer.q_norm, &mut q);
                layer_norm(&qkv[d..2 * d], &layer.k_norm, &mut k);
                for v in [&mut q, &mut k] {
                    for head in 0..h {
                        let s = &mut v[head * hd..(head + 1) * hd];
                        let half = hd / 2;
                        let orig = s.to_vec();
                        for j in 0..hd {
                            let ang = t as f32 * layer.inv_freq[j % half];
                            let rot = if j < half { -orig[j + half] } else { orig[j - half] };
                            s[j] = orig[j] * ang.cos() + rot * ang.sin();
                        }
                    }
                }
                qs.push(q);
                ks.push(k);
                vs.push(qkv[2 * d..].to_vec());
            }
            let scale = 1.0 / (hd as f32).sqrt();
            let mut attn_out = vec![0f32; d];
            let mut scores = vec![0f32; t_len];
            let mut gu = vec![0f32; 2 * self.hidden];
            let mut act = vec![0f32; self.hidden];
            for t in 0..t_len {
                let mut a = vec![0f32; d];
                for head in 0..h {
                    let r = head * hd..(head + 1) * hd;
                    let q = &qs[t][r.clone()];
                    let mut max = f32::NEG_INFINITY;
                    for (s, k) in scores[..=t].iter_mut().zip(&ks) {
                        *s = q.iter().zip(&k[r.clone()]).map(|(a, b)| a * b).sum::<f32>() * scale;
                        max = max.max(*s);
                    }
                    let mut z = 0f32;
                    for s in &mut scores[..=t] {
                        *s = (*s - max).exp();
                        z += *s;
                    }
                    for (s, v) in scores[..=t].iter().zip(&vs) {
                        let w = s / z;
                        for (o, vv) in a[r.clone()].iter_mut().zip(&v[r.clone()]) {
                            *o += w * vv;
                        }
                    }
                }
                matvec(&layer.out_proj, &a, &mut attn_out);
                for (xv, av) in x[t].iter_mut().zip(&attn_out) {
                    *xv += av;
                }
                layer_norm(&x[t], &layer.ffn_norm, &mut tmp);
                matvec(&layer.w12, &tmp, &mut gu);
                for j in 0..self.hidden {
                    let g = gu[j];
                    act[j] = g / (1.0 + (-g).exp()) * gu[self.hidden + j];
                }
                matvec(&layer.w3, &act, &mut attn_out);
                for (xv, fv) in x[t].iter_mut().zip(&attn_out) {
                    *xv += fv;
                }
            }
        }
        x.iter()
            .map(|xt| {
                let mut o = vec![0f32; d];
                layer_norm(xt, &self.norm, &mut o);
                o
            })
            .collect()
    }

    fn logits_at(&self, h: &[f32]) -> Vec<f32> {
        let mut out = vec![0f32; self.vocab];
        matvec(&self.output, h, &mut out);
        out
    }

    fn score(&self, r: &LoglikRequest) -> LogLik {
        let ids: Vec<u32> = r.context.iter().chain(&r.continuation).copied().collect();
        let hs = self.hidden_states(&ids[..ids.len() - 1]);
        let s = r.context.len();
        let mut token_logprobs = Vec::with_capacity(r.continuation.len());
        let mut greedy = true;
        for (k, &target) in r.continuation.iter().enumerate() {
            let logits = self.logits_at(&hs[s + k - 1]);
            token_logprobs.push(log_softmax_at(&logits, target as usize));
            greedy &= argmax(&logits) == Some(target as usize);
        }
        LogLik { token_logprobs, greedy }
    }
}

impl LanguageModel for TinyOpenLm {
    fn name(&self) -> &str {
        "open_lm-tiny-eval (plain Rust reference)"
    }
    fn loglikelihood(&self, requests: &[LoglikRequest]) -> Result<Vec<LogLik>, EvalError> {
        if requests
            .iter()
            .any(|r| r.continuation.is_empty() || r.context.is_empty())
        {
            return Err(EvalError::Model("empty context or continuation".into()));
        }
        Ok(if self.parallel {
            requests.par_iter().map(|r| self.score(r)).collect()
        } else {
            requests.iter().map(|r| self.score(r)).collect()
        })
    }
    fn generate(&self, requests: &[GenRequest], stop: &dyn StopCriterion) -> Result<Vec<Vec<u32>>, EvalError> {
        greedy_generate_with(requests, stop, |seq| {
            let hs = self.hidden_states(seq);
            Ok(self.logits_at(hs.last().ok_or_else(|| EvalError::Model("empty context".into()))?))
        })
    }
}
