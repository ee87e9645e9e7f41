//! Backups in S3: the snapshot and its manifest as objects under a prefix, the snapshot
//! sent in parts when it is larger than a part (a multipart upload, aborted on any
//! failure, so that no object is left that looks whole), the manifest last. The SDK's
//! settings are the AWS default chain's, as for EC2 (`AWS_ENDPOINT_URL_S3` points it
//! elsewhere), with path-style addressing, which every S3-compatible store takes.

use std::path::{Path, PathBuf};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use serde_json::{Map, Value};

use crate::base::error::{Error, Result};
use crate::providers::aws::sdk_error;

/// Where in S3: a bucket and a prefix (empty, or ending in `/`).
#[derive(Debug, Clone)]
pub struct S3At {
    pub bucket: String,
    pub prefix: String,
    /// The size of the parts of a multipart upload; a file no larger goes in one put.
    pub part_size: u64,
}

/// S3's smallest part but the last: 5 MiB.
pub const DEFAULT_PART_SIZE: u64 = 8 * 1024 * 1024;

async fn client() -> Result<Client> {
    let sdk = crate::providers::aws::load_config().await?;
    let conf = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(true)
        .build();
    Ok(Client::from_conf(conf))
}

impl S3At {
    fn key(&self, name: &str, ext: &str) -> String {
        format!("{}{name}.{ext}", self.prefix)
    }

    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// Uploads `file` as `<name>.db`, then `manifest` as `<name>.json`.
    pub async fn put(&self, file: &Path, name: &str, manifest: &Map<String, Value>) -> Result<()> {
        let s3 = client().await?;
        let key = self.key(name, "db");
        let size = std::fs::metadata(file)
            .map_err(|e| Error::failed(format!("{}: {e}", file.display())))?
            .len();
        if size <= self.part_size {
            let body = ByteStream::from_path(file)
                .await
                .map_err(|e| Error::failed(format!("{}: {e}", file.display())))?;
            s3.put_object()
                .bucket(&self.bucket)
                .key(&key)
                .body(body)
                .send()
                .await
                .map_err(|e| sdk_error("S3", &format!("PutObject {}", self.url_of(&key)), e))?;
        } else {
            self.multipart(&s3, file, &key, size).await?;
        }
        let text = serde_json::to_vec_pretty(manifest).map_err(|e| Error::failed(e.to_string()))?;
        let sent = s3
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(name, "json"))
            .body(ByteStream::from(text))
            .content_type("application/json")
            .send()
            .await;
        if let Err(e) = sent {
            // A snapshot without its manifest is no backup: it goes too.
            let _ = s3
                .delete_object()
                .bucket(&self.bucket)
                .key(&key)
                .send()
                .await;
            return Err(sdk_error(
                "S3",
                &format!("PutObject {}", self.url_of(&self.key(name, "json"))),
                e,
            ));
        }
        Ok(())
    }

    fn url_of(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// `file` in parts of `part_size`; the upload aborted if any step fails.
    async fn multipart(&self, s3: &Client, file: &Path, key: &str, size: u64) -> Result<()> {
        let what = |call: &str| format!("{call} {}", self.url_of(key));
        let made = s3
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| sdk_error("S3", &what("CreateMultipartUpload"), e))?;
        let id = made
            .upload_id()
            .ok_or_else(|| Error::failed(format!("S3 gave no upload ID for {}", self.url_of(key))))?
            .to_string();
        let sent = async {
            let mut parts = Vec::new();
            let mut offset = 0;
            let mut number = 1;
            while offset < size {
                let len = self.part_size.min(size - offset);
                let body = ByteStream::read_from()
                    .path(file)
                    .offset(offset)
                    .length(Length::Exact(len))
                    .build()
                    .await
                    .map_err(|e| Error::failed(format!("{}: {e}", file.display())))?;
                let part = s3
                    .upload_part()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(&id)
                    .part_number(number)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| sdk_error("S3", &what("UploadPart"), e))?;
                parts.push(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(part.e_tag().map(str::to_string))
                        .build(),
                );
                offset += len;
                number += 1;
            }
            s3.complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| sdk_error("S3", &what("CompleteMultipartUpload"), e))?;
            Ok::<(), Error>(())
        }
        .await;
        if sent.is_err() {
            let _ = s3
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&id)
                .send()
                .await;
        }
        sent
    }

    /// The manifests under the prefix, in name order.
    pub async fn list(&self) -> Result<Vec<Map<String, Value>>> {
        let s3 = client().await?;
        let mut keys = Vec::new();
        let mut pages = s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&self.prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| sdk_error("S3", &format!("ListObjectsV2 {}", self.url()), e))?;
            for o in page.contents() {
                if let Some(k) = o.key().filter(|k| k.ends_with(".json")) {
                    // Only the prefix's own level: a folder below is another store.
                    if !k[self.prefix.len()..].contains('/') {
                        keys.push(k.to_string());
                    }
                }
            }
        }
        keys.sort();
        let mut found = Vec::new();
        for key in keys {
            let bytes = self
                .get(&s3, &key)
                .await?
                .body
                .collect()
                .await
                .map_err(|e| Error::failed(format!("{}: {e}", self.url_of(&key))))?
                .into_bytes();
            let manifest: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|e| {
                Error::failed(format!(
                    "{} is not a backup's manifest: {e}",
                    self.url_of(&key)
                ))
            })?;
            found.push(manifest);
        }
        Ok(found)
    }

    /// Downloads `<name>.db` to `to` (mode 0600, through a file beside it).
    pub async fn fetch(&self, name: &str, to: &Path) -> Result<PathBuf> {
        use std::os::unix::fs::OpenOptionsExt;
        use tokio::io::AsyncWriteExt;
        let s3 = client().await?;
        let key = self.key(name, "db");
        let got = self.get(&s3, &key).await?;
        let part = to.with_extension("part");
        let written = async {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&part)?;
            let mut file = tokio::fs::File::from_std(file);
            let mut body = got.body;
            while let Some(chunk) = body.try_next().await.map_err(std::io::Error::other)? {
                file.write_all(&chunk).await?;
            }
            file.sync_all().await?;
            std::fs::rename(&part, to)
        }
        .await;
        written.map_err(|e: std::io::Error| {
            let _ = std::fs::remove_file(&part);
            Error::failed(format!("{} to {}: {e}", self.url_of(&key), to.display()))
        })?;
        Ok(to.to_path_buf())
    }

    /// The object `key`, its body still to read.
    async fn get(
        &self,
        s3: &Client,
        key: &str,
    ) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput> {
        s3.get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| sdk_error("S3", &format!("GetObject {}", self.url_of(key)), e))
    }

    /// Deletes `<name>.json`, then `<name>.db`.
    pub async fn remove(&self, name: &str) -> Result<()> {
        let s3 = client().await?;
        for ext in ["json", "db"] {
            let key = self.key(name, ext);
            s3.delete_object()
                .bucket(&self.bucket)
                .key(&key)
                .send()
                .await
                .map_err(|e| sdk_error("S3", &format!("DeleteObject {}", self.url_of(&key)), e))?;
        }
        Ok(())
    }
}
