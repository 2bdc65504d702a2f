//! Studies over the classifiers: learning curves (how accuracy grows with labels) and the
//! active-learning simulation. They train many models; the charts they draw come from
//! [`crate::charts`].

pub mod active;
pub mod curve;
pub mod label_curve;
