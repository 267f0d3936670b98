//! AWS Nitro Enclaves: an attestation document from the Nitro Secure Module (`/dev/nsm`,
//! through AWS's `aws-nitro-enclaves-nsm-api` driver) with `user_data` = the 64 bytes of
//! report data. Runs only inside an enclave; untested here.

use aws_nitro_enclaves_nsm_api::api::{Request, Response};
use aws_nitro_enclaves_nsm_api::driver::{nsm_exit, nsm_init, nsm_process_request};

use crate::{evidence, ReportSource, TeeError};

/// An open NSM device.
pub struct Nsm {
    fd: i32,
}

impl Nsm {
    pub fn open() -> Result<Self, TeeError> {
        let fd = nsm_init();
        if fd < 0 {
            return Err(TeeError::Report(
                "cannot open /dev/nsm: not inside a Nitro enclave (or the nsm driver is not loaded)".into(),
            ));
        }
        Ok(Nsm { fd })
    }
}

impl Drop for Nsm {
    fn drop(&mut self) {
        nsm_exit(self.fd);
    }
}

impl ReportSource for Nsm {
    fn kind(&self) -> &'static str {
        cairn_evidence::tee::nitro::NITRO_KIND
    }

    fn evidence(&mut self, report_data: &[u8; 64]) -> Result<serde_json::Value, TeeError> {
        let request = Request::Attestation {
            user_data: Some(report_data.to_vec().into()),
            nonce: None,
            public_key: None,
        };
        match nsm_process_request(self.fd, request) {
            Response::Attestation { document } => Ok(evidence::nitro(&document)),
            Response::Error(code) => Err(TeeError::Report(format!(
                "NSM refused the attestation request: {code:?}"
            ))),
            other => Err(TeeError::Report(format!(
                "NSM answered an attestation request with {other:?}"
            ))),
        }
    }
}
