//! Studies over the classifiers: learning curves (how accuracy grows with labels), the
//! active-learning simulation, the faithfulness of explanations and the transfer of a
//! fine-tuned model to a new domain. They train many models; the charts they draw come from
//! [`crate::charts`].

pub mod active;
pub mod curve;
pub mod faithfulness;
pub mod label_curve;
pub mod transfer;
