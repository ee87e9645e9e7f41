//! What the AWS backends (EC2, Route 53) share: the SDK's settings and its errors.

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};

use crate::base::error::{Error, ErrorKind, Result};

/// An AWS SDK error as rigger reports it: `<service>: <call> failed: <code>: <message>`
/// (Route 53 uses it too).
pub fn sdk_error<E: ProvideErrorMetadata + std::error::Error + 'static, R>(
    service: &str,
    what: &str,
    e: SdkError<E, R>,
) -> Error
where
    R: std::fmt::Debug,
{
    let (code, message) = match &e {
        SdkError::ServiceError(s) => (
            s.err().code().map(str::to_string),
            s.err().message().map(str::to_string),
        ),
        _ => (None, None),
    };
    let detail = match (code, message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c,
        _ => crate::base::human::root_cause(&e),
    };
    let kind = if detail.contains("UnauthorizedOperation") || detail.contains("AuthFailure") {
        ErrorKind::Permission
    } else {
        ErrorKind::Failed
    };
    Error::new(kind, format!("{service}: {what} failed: {detail}"))
}

/// The AWS default chain's settings, except that the region comes only from the
/// environment or the profile: the default chain would otherwise ask the instance
/// metadata service, which answers only on EC2. Refuses to guess a missing region, and
/// finds it before the SDK's loader runs: given no region, the loader looks for one on
/// the metadata service itself.
pub async fn load_config() -> Result<aws_config::SdkConfig> {
    use aws_config::environment::region::EnvironmentVariableRegionProvider;
    use aws_config::meta::region::RegionProviderChain;
    use aws_config::profile::ProfileFileRegionProvider;
    let region = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
        .or_else(ProfileFileRegionProvider::builder().build())
        .region()
        .await
        .ok_or_else(|| {
            Error::new(ErrorKind::Missing, "no AWS region configured")
                .with_help("set AWS_REGION (or a region in the AWS_PROFILE's config)")
        })?;
    Ok(aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(region)
        .load()
        .await)
}

/// What a run on AWS needs before its script starts: a region and credentials, found as
/// the backends will find them. A run without them would fail at its first call, shown
/// as a script error at whichever line made it; this says it as the setup problem it is.
pub async fn check_setup() -> Result<()> {
    use aws_sdk_ec2::config::ProvideCredentials;
    let config = load_config().await?;
    let help = "set AWS_PROFILE (a profile with credentials), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";
    let provider = config
        .credentials_provider()
        .ok_or_else(|| Error::new(ErrorKind::Missing, "no AWS credentials").with_help(help))?;
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(e) => Err(Error::new(
            ErrorKind::Missing,
            format!("no AWS credentials: {}", crate::base::human::root_cause(&e)),
        )
        .with_help(help)),
    }
}

/// Says each AWS API call (`-v`): the service and the operation, nothing of its input,
/// which may hold user data, and never its signature. One interceptor for EC2 and Route
/// 53 alike: both SDKs take the same kind.
#[derive(Debug)]
pub struct LogCalls;

impl aws_sdk_ec2::config::Intercept for LogCalls {
    fn name(&self) -> &'static str {
        "rigger::LogCalls"
    }

    // Not `read_before_execution`: a client's interceptors run that before the
    // operation has put its name in the config bag.
    fn read_before_serialization(
        &self,
        _context: &aws_sdk_ec2::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _components: &aws_sdk_ec2::config::RuntimeComponents,
        cfg: &mut aws_sdk_ec2::config::ConfigBag,
    ) -> std::result::Result<(), aws_sdk_ec2::error::BoxError> {
        use aws_smithy_runtime_api::client::orchestrator::Metadata;
        if let Some(call) = cfg.load::<Metadata>() {
            tracing::debug!("aws: {} {}", call.service(), call.name());
        }
        Ok(())
    }
}
