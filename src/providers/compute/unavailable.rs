//! The machines of a world opened only to look (health, destroy) whose backend could not
//! be set up, say for want of AWS settings: nothing is refused until a machine is
//! actually asked about, and then with the reason it could not be set up.

use async_trait::async_trait;

use super::{Compute, Instance, InstanceSpec};
use crate::base::error::{Error, Result};

pub struct Unavailable(pub Error);

#[async_trait]
impl Compute for Unavailable {
    async fn launch(&self, _spec: &InstanceSpec) -> Result<Instance> {
        Err(self.0.clone())
    }

    async fn terminate(&self, _instance: &Instance) -> Result<()> {
        Err(self.0.clone())
    }

    async fn find(&self, _name: &str) -> Result<Option<Instance>> {
        Err(self.0.clone())
    }

    async fn tagged(&self, _cluster: &str) -> Result<Vec<Instance>> {
        Err(self.0.clone())
    }
}
