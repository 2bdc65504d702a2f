//! Writing a trained classifier as a folder that Hugging Face transformers loads
//! unchanged (`AutoModelForSequenceClassification.from_pretrained(dir)`,
//! `pipeline("text-classification", model=dir)`).
//!
//! LoRA adapters are merged into the weights. A model trained with mean pooling is
//! exported through one extra encoder layer that computes the mean at position 0, so that
//! transformers' first-token head reproduces our predictions:
//! query and key weights 0 (uniform attention over the real tokens), value = identity,
//! output projection λ·I (the residual [CLS] term vanishes under the LayerNorm that
//! follows), feed-forward weights 0. Position 0 then carries LayerNorm(mean), exactly the
//! vector the head was trained on. The head's hidden layer becomes ε·I before tanh
//! (tanh is linear to ~1e-6 there) and the output weights are scaled by 1/ε; DistilBERT's
//! ReLU pre-classifier gets a bias that keeps every input positive instead.
//!
//! The folder is written next to the destination under a temporary name and renamed into
//! place at the end, so a failed export never damages an earlier one.

use crate::arch::{names, Family, Pooling};
use crate::classify::train::TrainedModel;
use crate::{charts, Result, StudioError};
use candle_core::{DType, Device, Tensor};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Scale of the mean layer's output projection.
const LAMBDA: f64 = 1e6;
/// Slope of the head's hidden layer (tanh families).
const EPSILON: f64 = 1e-3;

/// Extra facts for the model card.
#[derive(Debug, Clone, Default)]
pub struct CardInfo {
    /// Display name of the base model.
    pub base_name: String,
    /// Where the training data came from (file name or project).
    pub data_source: String,
    /// Which pooling the base model was read with and why (see
    /// `crate::models::ModelFolder::pooling_note`).
    pub pooling_note: String,
    /// Metrics on a held-out set, if one was evaluated.
    pub test_metrics: Option<crate::classify::eval::Metrics>,
}

/// Writes `model` to `out`. Returns the folder. `out` must be new, empty, or an earlier
/// export (see [`check_destination`]); the model is written beside it and renamed into
/// place, so a failure leaves `out` as it was.
pub fn export(model: &TrainedModel, out: &Path, card: &CardInfo) -> Result<PathBuf> {
    check_destination(out)?;
    replace_folder(out, |tmp| write_folder(model, tmp, card))?;
    Ok(out.to_path_buf())
}

/// True for a folder one of our exports wrote (the model card's companions are there).
pub fn is_export(dir: &Path) -> bool {
    dir.join("config.json").is_file() && dir.join("training_args.json").is_file()
}

/// Refuses to write over a folder that holds anything but an earlier export: such a
/// folder is the user's, and replacing it would delete their files. Call it before a
/// long job, so the user hears of it before waiting.
pub fn check_destination(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        return Err(StudioError::InvalidSetting(format!(
            "{} is a file, not a folder; pick a new folder name",
            out.display()
        )));
    }
    let empty = std::fs::read_dir(out)
        .map_err(|e| StudioError::io("list", out, e))?
        .next()
        .is_none();
    if empty || is_export(out) {
        Ok(())
    } else {
        Err(StudioError::InvalidSetting(format!(
            "{} already exists and holds other files; pick a new folder name (only an earlier export is ever replaced)",
            out.display()
        )))
    }
}

/// Fills a temporary sibling of `dest` with `fill`, then renames it over `dest`; an
/// earlier `dest` is moved aside first and put back if the rename fails. Leftovers of
/// an earlier process that died halfway are removed first.
pub fn replace_folder(dest: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| StudioError::io("create the folder", parent, e))?;
    let name = dest
        .file_name()
        .ok_or_else(|| {
            StudioError::InvalidSetting(format!("{} is not a folder name", dest.display()))
        })?
        .to_string_lossy()
        .into_owned();
    remove_stale_siblings(parent, &name);
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let written = std::fs::create_dir_all(&tmp)
        .map_err(|e| StudioError::io("create the folder", &tmp, e))
        .and_then(|_| fill(&tmp));
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if dest.exists() {
        if let Err(e) = std::fs::rename(dest, &old) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(StudioError::io("move", dest, e));
        }
    }
    if let Err(e) = std::fs::rename(&tmp, dest) {
        let _ = std::fs::rename(&old, dest);
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(StudioError::io("move", dest, e));
    }
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// Removes `.{name}.tmp-PID` and `.{name}.old-PID` folders beside `name` left by a
/// process that no longer runs (killed, or a window closed during an export). Only our
/// own names are touched, and only when the process is known to be gone.
fn remove_stale_siblings(parent: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let pid = [".tmp-", ".old-"].iter().find_map(|kind| {
            file.strip_prefix(&format!(".{name}{kind}"))
                .and_then(|p| p.parse::<u32>().ok())
        });
        if let Some(pid) = pid {
            if pid != std::process::id() && !crate::runtime::process_alive(pid) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

fn write_folder(model: &TrainedModel, dir: &Path, card: &CardInfo) -> Result<()> {
    let tensors = export_tensors(model)?;
    let extra_layer = model.plan.pooling == Pooling::Mean;
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors"))?;
    write_json(&dir.join("config.json"), &config_json(model, extra_layer))?;
    write_tokenizer_files(model, dir)?;
    let args = json!({
        "plan": model.plan,
        "base_model": card.base_name,
        "base_model_dir": model.base_dir,
        "data_source": card.data_source,
        "train_size": model.train_size,
        "validation_size": model.validation_size,
        "device": model.device_kind,
        "seconds": model.seconds,
        "temperature": model.temperature,
        "head_start": model.head_start,
        "calibrated_on": model.calibrated_on,
        "pooling_export": if extra_layer {
            format!("mean pooling exported as an extra encoder layer (lambda {LAMBDA:e}) and an epsilon-linear head (epsilon {EPSILON:e})")
        } else {
            "first-token head, as transformers trains it".to_string()
        },
        "studio_version": env!("CARGO_PKG_VERSION"),
    });
    write_json(&dir.join("training_args.json"), &args)?;
    let metrics = json!({
        "validation": model.validation,
        "test": card.test_metrics,
        "history": model.history,
    });
    write_json(&dir.join("metrics.json"), &metrics)?;
    // The model card is English and read on white paper (GitHub, the Hub).
    let style = charts::ChartStyle {
        text: charts::ChartText {
            reliability: "Reliability on the held-out test texts".into(),
            ..charts::ChartText::default()
        },
        dark: false,
    };
    write_text(
        &dir.join("loss.svg"),
        &charts::loss_chart_svg(&model.step_losses, &model.history, &style),
    )?;
    write_text(
        &dir.join("validation.svg"),
        &charts::validation_chart_svg(&model.history, &style),
    )?;
    if let Some(c) = card
        .test_metrics
        .as_ref()
        .and_then(|m| m.calibration.as_ref())
    {
        write_text(&dir.join("reliability.svg"), &c.chart_svg(&style))?;
    }
    write_text(
        &dir.join("README.md"),
        &model_card(model, card, extra_layer),
    )?;
    Ok(())
}

/// The tensors of the exported model, under transformers' names.
pub fn export_tensors(model: &TrainedModel) -> Result<HashMap<String, Tensor>> {
    let mut tensors: HashMap<String, Tensor> = model
        .store
        .tensors()
        .into_iter()
        .filter(|(n, _)| !n.contains(".lora_") && !n.starts_with("studio."))
        .collect();
    // Merge LoRA.
    if model.plan.mode == crate::classify::train::Mode::Lora {
        let clf = model.classifier()?;
        for (name, lin) in clf.linear_layers() {
            tensors.insert(name, lin.merged_weight()?.detach());
        }
    }
    if model.plan.pooling == Pooling::Mean {
        add_mean_layer(&mut tensors, model)?;
        add_linearised_head(&mut tensors, model)?;
    }
    let cpu: HashMap<String, Tensor> = tensors
        .into_iter()
        .map(|(n, t)| {
            Ok((
                n,
                t.to_device(&Device::Cpu)?
                    .to_dtype(DType::F32)?
                    .contiguous()?,
            ))
        })
        .collect::<Result<_>>()?;
    Ok(cpu)
}

fn add_mean_layer(tensors: &mut HashMap<String, Tensor>, model: &TrainedModel) -> Result<()> {
    let cfg = &model.config;
    let (h, inter) = (cfg.hidden, cfg.intermediate);
    let dev = Device::Cpu;
    let n = names::layer(cfg.family, cfg.layers);
    let zeros = |shape: &[usize]| Tensor::zeros(shape, DType::F32, &dev);
    let eye = Tensor::eye(h, DType::F32, &dev)?;
    let ones = Tensor::ones(h, DType::F32, &dev)?;
    let mut put = |name: String, t: Tensor| {
        tensors.insert(name, t);
    };
    put(n.query.weight(), zeros(&[h, h])?);
    put(n.query.bias(), zeros(&[h])?);
    put(n.key.weight(), zeros(&[h, h])?);
    put(n.key.bias(), zeros(&[h])?);
    put(n.value.weight(), eye.clone());
    put(n.value.bias(), zeros(&[h])?);
    put(n.attn_out.weight(), (&eye * LAMBDA)?);
    put(n.attn_out.bias(), zeros(&[h])?);
    put(n.attn_norm.weight(), ones.clone());
    put(n.attn_norm.bias(), zeros(&[h])?);
    put(n.ffn_in.weight(), zeros(&[inter, h])?);
    put(n.ffn_in.bias(), zeros(&[inter])?);
    put(n.ffn_out.weight(), zeros(&[h, inter])?);
    put(n.ffn_out.bias(), zeros(&[h])?);
    put(n.ffn_norm.weight(), ones);
    put(n.ffn_norm.bias(), zeros(&[h])?);
    Ok(())
}

fn add_linearised_head(tensors: &mut HashMap<String, Tensor>, model: &TrainedModel) -> Result<()> {
    let cfg = &model.config;
    let h = cfg.hidden;
    let dev = Device::Cpu;
    let mean = names::mean_head();
    let w = model.store.get(&mean.weight())?.detach().to_device(&dev)?;
    let b = model.store.get(&mean.bias())?.detach().to_device(&dev)?;
    let dense = names::head_dense(cfg.family);
    let out = names::head_out(cfg.family);
    let eye = Tensor::eye(h, DType::F32, &dev)?;
    if cfg.family == Family::DistilBert {
        // relu(f + c) = f + c for |f_i| ≤ sqrt(h) < c; the output bias takes c·W·1 back.
        let c = (h as f64).sqrt() + 1.0;
        tensors.insert(dense.weight(), eye);
        tensors.insert(dense.bias(), (Tensor::ones(h, DType::F32, &dev)? * c)?);
        let shift = (w.sum(1)? * c)?;
        tensors.insert(out.weight(), w);
        tensors.insert(out.bias(), (b - shift)?);
    } else {
        tensors.insert(dense.weight(), (eye * EPSILON)?);
        tensors.insert(dense.bias(), Tensor::zeros(h, DType::F32, &dev)?);
        tensors.insert(out.weight(), (w / EPSILON)?);
        tensors.insert(out.bias(), b);
    }
    Ok(())
}

fn config_json(model: &TrainedModel, extra_layer: bool) -> Value {
    let mut cfg = model.base_config_json.clone();
    let family = model.config.family;
    let labels = &model.label_names;
    if let Value::Object(map) = &mut cfg {
        map.retain(|k, _| !k.starts_with("studio") && k != "_name_or_path");
        map.insert("architectures".into(), json!([family.classifier_class()]));
        map.insert("model_type".into(), json!(family.model_type()));
        map.insert(
            "id2label".into(),
            Value::Object(
                labels
                    .iter()
                    .enumerate()
                    .map(|(i, l)| (i.to_string(), json!(l)))
                    .collect(),
            ),
        );
        map.insert(
            "label2id".into(),
            Value::Object(
                labels
                    .iter()
                    .enumerate()
                    .map(|(i, l)| (l.clone(), json!(i)))
                    .collect(),
            ),
        );
        map.insert("problem_type".into(), json!("single_label_classification"));
        map.insert("torch_dtype".into(), json!("float32"));
        let layers = model.config.layers + usize::from(extra_layer);
        let key = if family == Family::DistilBert {
            "n_layers"
        } else {
            "num_hidden_layers"
        };
        map.insert(key.into(), json!(layers));
    }
    cfg
}

fn write_tokenizer_files(model: &TrainedModel, dir: &Path) -> Result<()> {
    let mut tok = model.tokenizer.inner().clone();
    tok.with_truncation(Some(tokenizers::TruncationParams {
        max_length: model.config.max_tokens(),
        ..Default::default()
    }))
    .map_err(crate::error::tok_err)?;
    tok.save(dir.join("tokenizer.json"), false)
        .map_err(crate::error::tok_err)?;
    let base = &model.base_dir;
    let family = model.config.family;
    let mut tc: Value = read_json(&base.join("tokenizer_config.json")).unwrap_or_else(|| json!({}));
    if let Value::Object(m) = &mut tc {
        m.insert("model_max_length".into(), json!(model.config.max_tokens()));
        m.entry("tokenizer_class").or_insert(json!(match family {
            Family::Bert => "BertTokenizer",
            Family::DistilBert => "DistilBertTokenizer",
            Family::XlmRoberta => "XLMRobertaTokenizer",
        }));
        if family != Family::XlmRoberta {
            m.entry("do_lower_case").or_insert(json!(true));
        }
    }
    write_json(&dir.join("tokenizer_config.json"), &tc)?;
    let stm = read_json(&base.join("special_tokens_map.json")).unwrap_or_else(|| match family {
        Family::XlmRoberta => json!({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
            "sep_token": "</s>", "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>"}),
        _ => json!({"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
            "cls_token": "[CLS]", "mask_token": "[MASK]"}),
    });
    write_json(&dir.join("special_tokens_map.json"), &stm)?;
    if base.join("vocab.txt").is_file() {
        std::fs::copy(base.join("vocab.txt"), dir.join("vocab.txt"))
            .map_err(|e| StudioError::io("copy", base.join("vocab.txt"), e))?;
    }
    if base.join("sentencepiece.bpe.model").is_file() {
        std::fs::copy(
            base.join("sentencepiece.bpe.model"),
            dir.join("sentencepiece.bpe.model"),
        )
        .map_err(|e| StudioError::io("copy", base.join("sentencepiece.bpe.model"), e))?;
    }
    Ok(())
}

fn model_card(model: &TrainedModel, card: &CardInfo, extra_layer: bool) -> String {
    let v = &model.validation;
    let mut s = String::new();
    s.push_str(&format!(
        "---\nlibrary_name: transformers\npipeline_tag: text-classification\nbase_model: {}\n---\n\n",
        card.base_name
    ));
    s.push_str(&format!(
        "# Text classifier: {}\n\nFine-tuned from **{}** with Sentiment Studio {}.\n\n",
        model.label_names.join(" / "),
        card.base_name,
        env!("CARGO_PKG_VERSION")
    ));
    s.push_str("## Use it\n\n```python\nfrom transformers import pipeline\nclf = pipeline(\"text-classification\", model=\"path/to/this/folder\")\nprint(clf(\"I loved it\"))\n```\n\nor `studio predict --model path/to/this/folder \"I loved it\"`.\n\n");
    s.push_str("## Data\n\n");
    s.push_str(&format!(
        "- source: {}\n- {} texts for training, {} for validation (stratified, seed {})\n- labels: {}\n\n",
        if card.data_source.is_empty() { "(not recorded)" } else { &card.data_source },
        model.train_size,
        model.validation_size,
        model.plan.seed,
        model.label_names.join(", ")
    ));
    let p = &model.plan;
    s.push_str("## Settings\n\n");
    s.push_str(&format!(
        "- mode: {:?}; preset: {:?} ({})\n- epochs: {} max, {} run (early stopping on validation macro-F1, patience {})\n- learning rate {:e}, batch {}, max length {} tokens, weight decay {}, warmup {}%, gradient clip {}\n- pooling: {:?} ({}){}\n- device: {}; time: {:.1} s\n\n",
        p.mode, p.preset, p.why, p.epochs, model.history.len(), p.patience, p.lr, p.batch_size,
        p.max_len, p.weight_decay, p.warmup_ratio * 100.0, p.max_grad_norm, p.pooling, card.pooling_note,
        if p.mode == crate::classify::train::Mode::Lora { format!("; LoRA rank {}, alpha {} (merged into the weights)", p.lora_rank, p.lora_alpha) } else { String::new() },
        model.device_kind, model.seconds
    ));
    if p.label_prior > 0.0 {
        let sentences: Vec<String> = model
            .label_names
            .iter()
            .map(|l| format!("\"{}\"", crate::classify::prior::label_sentence(l, None)))
            .collect();
        s.push_str(&format!(
            "Label-name prior: the classifier was pulled towards what the label names mean. Each label's sentence ({}) was embedded by the encoder, and the classifier's weights were fitted as that embedding times {} / hidden size plus a penalised correction learned from the labelled texts. With few labels this is worth several points of accuracy; `studio train --label-prior 0` trains without it.\n\n",
            sentences.join(", "),
            p.label_prior
        ));
    }
    if extra_layer {
        s.push_str("The classifier was trained on the mean of the token vectors (how this sentence encoder was built). So that transformers' standard first-token head gives the same predictions, the export adds one encoder layer that computes that mean at the first position, and a linear head; `num_hidden_layers` is therefore one more than the base model's.\n\n");
    }
    s.push_str("## Metrics\n\n");
    let table = |title: &str, m: &crate::classify::eval::Metrics| {
        let mut t = format!(
            "**{title}** ({} texts): {}\n\n| label | precision | recall | F1 | support |\n|---|---|---|---|---|\n",
            m.n,
            m.headline()
        );
        for l in &m.labels {
            let c = &m.per_class[l];
            t.push_str(&format!(
                "| {l} | {:.4} | {:.4} | {:.4} | {} |\n",
                c.precision, c.recall, c.f1, c.support
            ));
        }
        t.push('\n');
        t
    };
    if v.n > 0 {
        s.push_str(&table("Validation", v));
    } else {
        s.push_str("No validation split: with fewer than 20 texts of some label, every labelled text was used for training.\n\n");
    }
    if let Some(t) = &card.test_metrics {
        s.push_str(&table("Held-out test", t));
    }
    let calibration = if model.calibrated_on == "none" {
        "The probabilities are the classifier's own: nothing held out could calibrate them (too few texts, or held-out predictions no better than always naming the most common label)."
            .to_string()
    } else {
        format!(
            "The probabilities are calibrated: a temperature of {:.3}, fitted on {} predictions, is folded into the classifier's last layer, so transformers reports the same calibrated probabilities.",
            model.temperature, model.calibrated_on
        )
    };
    let measured = card
        .test_metrics
        .as_ref()
        .and_then(|m| m.calibration.as_ref())
        .map_or_else(String::new, |c| {
            format!(
                " Expected calibration error on the test texts (15 bins): {:.4} calibrated, {:.4} before.\n\n![reliability](reliability.svg)",
                c.ece, c.ece_uncalibrated
            )
        });
    s.push_str(&format!("## Confidence\n\n{calibration}{measured}\n\n"));
    s.push_str("![loss](loss.svg)\n\n![validation](validation.svg)\n");
    s
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn write_json(path: &Path, v: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(v).map_err(|e| StudioError::Json {
        path: path.to_path_buf(),
        error: e,
    })?;
    write_text(path, &text)
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| StudioError::io("write", path, e))
}
