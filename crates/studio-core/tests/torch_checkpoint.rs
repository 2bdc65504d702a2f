//! A `pytorch_model.bin` checkpoint (written by torch.save from a transformers BertModel,
//! tests/fixtures/tiny-bert-bin) loads, tokenizes like transformers, and our encoder
//! reproduces transformers' hidden state (reference.json, from the same script).

use candle_core::Device;
use std::path::Path;
use studio_core::arch::{Classifier, ForwardCtx, ParamStore, Pooling};
use studio_core::models::ModelFolder;

#[test]
fn torch_pickle_weights_load_and_match_transformers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-bert-bin");
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap())
            .unwrap();
    let folder = ModelFolder::open(&dir).unwrap();
    assert!(folder.weights.ends_with("pytorch_model.bin"));
    let dev = Device::Cpu;
    let tok = folder.tokenizer(32).unwrap();
    let ids = tok
        .encode_all(&[reference["text"].as_str().unwrap().to_string()])
        .unwrap();
    let want_ids: Vec<u32> = reference["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    assert_eq!(ids[0], want_ids);
    let mut store = ParamStore::from_tensors(folder.load_tensors(&dev).unwrap(), &dev).unwrap();
    Classifier::add_missing_head(&mut store, &folder.config, Pooling::Cls, 2, 0).unwrap();
    let model = Classifier::load(&store, &folder.config, Pooling::Cls, 1.0).unwrap();
    let b = tok.batch(&[ids[0].as_slice()], &dev).unwrap();
    let hidden = model.encode(&b.ids, &b.mask, &ForwardCtx::eval()).unwrap();
    let cls = hidden
        .get(0)
        .unwrap()
        .get(0)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    for (i, w) in reference["cls_first4"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let w = w.as_f64().unwrap() as f32;
        assert!((cls[i] - w).abs() < 1e-4, "dim {i}: {} vs {w}", cls[i]);
    }
}
