//! The attester side of cairn's TPM evidence, over tss-esapi (libtss2):
//!
//! - [`enroll::enroll`]: read the EK certificate, create a restricted ECDSA P-256 AK
//!   under the EK, prove by credential activation that both live in one TPM, and issue the
//!   signed AK binding record (the authority's half is pure Rust in `cairn-evidence`);
//! - [`attester::TpmBuildAttester`]: at build time, reset PCR 23, extend each build
//!   measurement with an event-log entry, and quote with extraData = SHA-256(DSSE PAE).

pub mod attester;
pub mod enroll;
pub mod error;
pub mod host;
mod session;

pub use attester::{PcrSpec, TpmBuildAttester};
pub use enroll::{enroll, EnrollOptions};
pub use error::TpmError;
pub use host::HostFile;

use std::str::FromStr;

use tss_esapi::{tcti_ldr::TctiNameConf, Context};

/// Opens a TPM through a TCTI string such as `swtpm:host=127.0.0.1,port=2321` or
/// `device:/dev/tpmrm0`.
pub fn open(tcti: &str) -> Result<Context, TpmError> {
    let conf = TctiNameConf::from_str(tcti).map_err(|e| TpmError::Tcti {
        tcti: tcti.to_string(),
        reason: format!("not a TCTI (device:PATH, swtpm:host=H,port=P, mssim:…, tabrmd:…): {e}"),
    })?;
    Context::new(conf).map_err(|e| TpmError::Tcti {
        tcti: tcti.to_string(),
        reason: format!("cannot connect: {e}"),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn bad_tcti_strings_are_named() {
        // `Context` has no Debug, so no `expect_err`.
        let Err(e) = super::open("telepathy:x") else {
            panic!("not a TCTI")
        };
        assert!(
            e.to_string()
                .starts_with("TCTI \"telepathy:x\": not a TCTI"),
            "{e}"
        );
        // Nothing listens on port 1.
        let Err(e) = super::open("swtpm:host=127.0.0.1,port=1") else {
            panic!("no TPM there")
        };
        assert!(e.to_string().contains("cannot connect"), "{e}");
    }
}
