//! An ONNX graph under construction: initializers, nodes, inputs and outputs, with
//! names made unique as they are added, then the `ModelProto` around it.

use super::proto::Message;

/// ONNX `TensorProto.DataType` values we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    /// 32-bit float.
    Float = 1,
    /// Unsigned byte.
    Uint8 = 2,
    /// Signed byte.
    Int8 = 3,
    /// 64-bit integer.
    Int64 = 7,
}

/// One dimension of a declared input or output.
pub enum Dim {
    /// A fixed size.
    Fixed(i64),
    /// A named size the caller chooses (batch, sequence).
    Named(&'static str),
}

/// A node attribute.
pub enum Attr {
    /// An integer.
    Int(&'static str, i64),
    /// A float.
    Float(&'static str, f32),
    /// A list of integers.
    Ints(&'static str, Vec<i64>),
}

impl Attr {
    fn message(&self) -> Message {
        // AttributeProto: name 1, f 2, i 3, ints 8, type 20 (FLOAT 1, INT 2, INTS 7).
        match self {
            Attr::Int(n, v) => Message::new().string(1, n).int(3, *v).int(20, 2),
            Attr::Float(n, v) => Message::new().string(1, n).float(2, *v).int(20, 1),
            Attr::Ints(n, vs) => {
                let mut m = Message::new().string(1, n).int(20, 7);
                for v in vs {
                    m = m.int(8, *v);
                }
                m
            }
        }
    }
}

/// A graph being built. Every `add_*` returns the name of the value it made.
#[derive(Default)]
pub struct Graph {
    nodes: Vec<Message>,
    initializers: Vec<Message>,
    inputs: Vec<Message>,
    outputs: Vec<Message>,
    counter: usize,
    /// Bytes of weights added so far.
    pub weight_bytes: u64,
}

fn value_info(name: &str, dtype: DataType, dims: &[Dim]) -> Message {
    // ValueInfoProto{name 1, type 2}; TypeProto{tensor_type 1};
    // Tensor{elem_type 1, shape 2}; TensorShapeProto{dim 1}; Dimension{value 1, param 2}.
    let mut shape = Message::new();
    for d in dims {
        shape.push(
            1,
            match d {
                Dim::Fixed(v) => Message::new().int(1, *v),
                Dim::Named(p) => Message::new().string(2, p),
            },
        );
    }
    let tensor = Message::new().int(1, dtype as i64).message(2, shape);
    Message::new()
        .string(1, name)
        .message(2, Message::new().message(1, tensor))
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    fn fresh(&mut self, hint: &str) -> String {
        self.counter += 1;
        format!("{hint}_{}", self.counter)
    }

    /// Declares a graph input.
    pub fn input(&mut self, name: &str, dtype: DataType, dims: &[Dim]) -> String {
        self.inputs.push(value_info(name, dtype, dims));
        name.to_string()
    }

    /// Declares `value` as a graph output.
    pub fn output(&mut self, value: &str, dtype: DataType, dims: &[Dim]) {
        self.outputs.push(value_info(value, dtype, dims));
    }

    /// A constant tensor from raw little-endian bytes.
    pub fn constant_raw(
        &mut self,
        hint: &str,
        dtype: DataType,
        dims: &[usize],
        raw: Vec<u8>,
    ) -> String {
        let name = self.fresh(hint);
        self.weight_bytes += raw.len() as u64;
        // TensorProto: dims 1, data_type 2, name 8, raw_data 9.
        let mut t = Message::new();
        for d in dims {
            t = t.int(1, *d as i64);
        }
        self.initializers
            .push(t.int(2, dtype as i64).string(8, &name).bytes(9, raw));
        name
    }

    /// A float constant.
    pub fn floats(&mut self, hint: &str, dims: &[usize], data: &[f32]) -> String {
        debug_assert_eq!(dims.iter().product::<usize>(), data.len());
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.constant_raw(hint, DataType::Float, dims, raw)
    }

    /// A scalar float constant.
    pub fn scalar(&mut self, hint: &str, v: f32) -> String {
        self.floats(hint, &[], &[v])
    }

    /// An int64 constant.
    pub fn ints(&mut self, hint: &str, data: &[i64]) -> String {
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.constant_raw(hint, DataType::Int64, &[data.len()], raw)
    }

    /// A signed-byte constant.
    pub fn int8s(&mut self, hint: &str, dims: &[usize], data: &[i8]) -> String {
        let raw = data.iter().map(|v| *v as u8).collect();
        self.constant_raw(hint, DataType::Int8, dims, raw)
    }

    /// A node with one output.
    pub fn op(&mut self, op: &str, inputs: &[&str], attrs: &[Attr]) -> String {
        self.op_n(op, inputs, 1, attrs).remove(0)
    }

    /// A node with `n` outputs.
    pub fn op_n(&mut self, op: &str, inputs: &[&str], n: usize, attrs: &[Attr]) -> Vec<String> {
        let outputs: Vec<String> = (0..n).map(|_| self.fresh(op)).collect();
        self.op_named(op, inputs, &outputs, attrs);
        outputs
    }

    /// A node whose outputs have the given names (graph outputs).
    pub fn op_named(&mut self, op: &str, inputs: &[&str], outputs: &[String], attrs: &[Attr]) {
        // NodeProto: input 1, output 2, name 3, op_type 4, attribute 5.
        let mut node = Message::new();
        for i in inputs {
            node = node.string(1, i);
        }
        for o in outputs {
            node = node.string(2, o);
        }
        let name = self.fresh(&format!("{op}_node"));
        node = node.string(3, &name).string(4, op);
        for a in attrs {
            node = node.message(5, a.message());
        }
        self.nodes.push(node);
    }

    /// The whole `ModelProto`: IR version 8, the default domain at opset 17 (the first
    /// with LayerNormalization), and `metadata` as its metadata properties.
    pub fn into_model(self, name: &str, metadata: &[(String, String)]) -> Message {
        // GraphProto: node 1, name 2, initializer 5, input 11, output 12.
        let mut graph = Message::new();
        for n in self.nodes {
            graph.push(1, n);
        }
        graph = graph.string(2, name);
        for i in self.initializers {
            graph.push(5, i);
        }
        for i in self.inputs {
            graph.push(11, i);
        }
        for o in self.outputs {
            graph.push(12, o);
        }
        // ModelProto: ir_version 1, producer_name 2, producer_version 3, graph 7,
        // opset_import 8 (OperatorSetIdProto: domain 1, version 2), metadata_props 14.
        let mut model = Message::new()
            .int(1, IR_VERSION)
            .string(2, "sentiment-studio")
            .string(3, env!("CARGO_PKG_VERSION"))
            .message(7, graph)
            .message(8, Message::new().string(1, "").int(2, OPSET));
        for (k, v) in metadata {
            model.push(14, Message::new().string(1, k).string(2, v));
        }
        model
    }
}

/// The ONNX IR version we write (ONNX 1.13+, ONNX Runtime 1.14+).
pub const IR_VERSION: i64 = 8;
/// The operator set we use.
pub const OPSET: i64 = 17;
