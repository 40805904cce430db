//! The local key-file KEK provider: wrap and unwrap, binding, rotation, file handling.

use std::sync::Arc;

use datavern_crypto::{
    DataKey, Error, IndexRootKey, KekProvider, KekVersion, KeyKind, KeyVersion, LocalKeyFile,
    UnwrapRequest, UnwrappedKey, WrapRequest, WrappedKey, decrypt_field, encrypt_field,
};

use crate::{assert_no_key, context, data_key, key_file, key_hexes};

/// Unwraps one data key, panicking on a provider-level failure.
async fn unwrap_data_key(
    kek: &dyn KekProvider,
    wrapped: &WrappedKey,
    tenant: &str,
    subject: &str,
) -> Result<DataKey, Error> {
    let mut results = kek
        .unwrap(&[UnwrapRequest::data_key(wrapped, tenant, subject)])
        .await
        .unwrap();
    assert_eq!(results.len(), 1);
    results.remove(0).and_then(UnwrappedKey::into_data_key)
}

/// The unwrapped key is the same key: it opens what the original sealed.
fn assert_same_key(original: &DataKey, unwrapped: &DataKey) {
    assert_eq!(original.id(), unwrapped.id());
    assert_eq!(original.version(), unwrapped.version());
    let envelope = encrypt_field(original, &context(), b"Kari Nordmann").unwrap();
    assert_eq!(
        decrypt_field(unwrapped, &context(), &envelope)
            .unwrap()
            .as_slice(),
        b"Kari Nordmann"
    );
}

#[tokio::test]
async fn wrap_then_unwrap_gives_back_the_same_key() {
    let (_dir, kek) = key_file().await;
    let key = data_key();
    let wrapped = kek
        .wrap(&[WrapRequest::data_key(&key, "0301", "subject-1")])
        .await
        .unwrap();
    assert_eq!(wrapped.len(), 1);
    assert_eq!(wrapped[0].kind(), KeyKind::DataKey);
    assert_eq!(wrapped[0].key_id(), key.id());
    assert_eq!(wrapped[0].kek_id(), kek.id());
    assert_eq!(wrapped[0].kek_version(), KekVersion::FIRST);
    let unwrapped = unwrap_data_key(&kek, &wrapped[0], "0301", "subject-1")
        .await
        .unwrap();
    assert_same_key(&key, &unwrapped);
}

#[tokio::test]
async fn wrapped_key_survives_storage_and_a_reopened_key_file() {
    let (dir, kek) = key_file().await;
    let key = DataKey::generate(KeyVersion::new(3).unwrap()).unwrap();
    let stored = kek
        .wrap(&[WrapRequest::data_key(&key, "0301", "subject-1")])
        .await
        .unwrap()[0]
        .to_bytes();
    drop(kek);

    let reopened = LocalKeyFile::open(dir.path().join("kek")).await.unwrap();
    let wrapped = WrappedKey::from_bytes(&stored).unwrap();
    let unwrapped = unwrap_data_key(&reopened, &wrapped, "0301", "subject-1")
        .await
        .unwrap();
    assert_same_key(&key, &unwrapped);
    assert_eq!(unwrapped.version().get(), 3);
}

#[tokio::test]
async fn batches_keep_their_order() {
    let (_dir, kek) = key_file().await;
    let keys: Vec<DataKey> = (0..100).map(|_| data_key()).collect();
    let subjects: Vec<String> = (0..100).map(|i| format!("subject-{i}")).collect();
    let requests: Vec<_> = keys
        .iter()
        .zip(&subjects)
        .map(|(k, s)| WrapRequest::data_key(k, "0301", s))
        .collect();
    let wrapped = kek.wrap(&requests).await.unwrap();
    let unwrap_requests: Vec<_> = wrapped
        .iter()
        .zip(&subjects)
        .map(|(w, s)| UnwrapRequest::data_key(w, "0301", s))
        .collect();
    let unwrapped = kek.unwrap(&unwrap_requests).await.unwrap();
    assert_eq!(unwrapped.len(), 100);
    for (key, result) in keys.iter().zip(unwrapped) {
        assert_same_key(key, &result.unwrap().into_data_key().unwrap());
    }
}

#[tokio::test]
async fn one_bad_item_does_not_fail_the_batch() {
    let (_dir, kek) = key_file().await;
    let (a, b) = (data_key(), data_key());
    let wrapped = kek
        .wrap(&[
            WrapRequest::data_key(&a, "0301", "a"),
            WrapRequest::data_key(&b, "0301", "b"),
        ])
        .await
        .unwrap();
    let results = kek
        .unwrap(&[
            UnwrapRequest::data_key(&wrapped[0], "0301", "a"),
            UnwrapRequest::data_key(&wrapped[1], "0301", "a"),
        ])
        .await
        .unwrap();
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(Error::UnwrapAuthentication)));
}

#[tokio::test]
async fn unwrap_with_other_associated_data_fails() {
    let (_dir, kek) = key_file().await;
    let key = data_key();
    let wrapped = kek
        .wrap(&[WrapRequest::data_key(&key, "0301", "subject-1")])
        .await
        .unwrap();
    let w = &wrapped[0];
    // Copied to another subject, another tenant, or both.
    for (tenant, subject) in [
        ("0301", "subject-2"),
        ("4601", "subject-1"),
        ("", ""),
        ("0301subject-1", ""),
    ] {
        let result = unwrap_data_key(&kek, w, tenant, subject).await;
        assert!(
            matches!(result, Err(Error::UnwrapAuthentication)),
            "{tenant}/{subject}: {result:?}"
        );
    }
    // Asked for as an index root key.
    let results = kek
        .unwrap(&[UnwrapRequest::index_root(w, "0301")])
        .await
        .unwrap();
    assert!(matches!(
        results[0],
        Err(Error::WrongKeyKind {
            expected: KeyKind::IndexRoot,
            found: KeyKind::DataKey
        })
    ));
}

#[tokio::test]
async fn altered_wrapped_key_fails() {
    let (_dir, kek) = key_file().await;
    let key = data_key();
    let bytes = kek
        .wrap(&[WrapRequest::data_key(&key, "0301", "s")])
        .await
        .unwrap()[0]
        .to_bytes();
    for i in 0..bytes.len() {
        let mut altered = bytes.clone();
        altered[i] ^= 0x01;
        // Either the encoding no longer parses, or the unwrap fails: never a different key.
        let Ok(wrapped) = WrappedKey::from_bytes(&altered) else {
            continue;
        };
        let result = kek
            .unwrap(&[UnwrapRequest::data_key(&wrapped, "0301", "s")])
            .await
            .unwrap();
        assert!(result[0].is_err(), "byte {i} altered still unwraps");
    }
}

#[tokio::test]
async fn key_wrapped_by_another_key_file_is_refused_by_id() {
    let (_d1, kek) = key_file().await;
    let (_d2, other) = key_file().await;
    assert_ne!(kek.id(), other.id());
    let key = data_key();
    let wrapped = other
        .wrap(&[WrapRequest::data_key(&key, "0301", "s")])
        .await
        .unwrap();
    let result = unwrap_data_key(&kek, &wrapped[0], "0301", "s").await;
    assert!(
        matches!(result, Err(Error::KekMismatch { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn index_root_keys_wrap_per_tenant() {
    let (_dir, kek) = key_file().await;
    let root = IndexRootKey::generate(KeyVersion::FIRST).unwrap();
    let wrapped = kek
        .wrap(&[WrapRequest::index_root(&root, "0301")])
        .await
        .unwrap();
    assert_eq!(wrapped[0].kind(), KeyKind::IndexRoot);
    let ok = kek
        .unwrap(&[UnwrapRequest::index_root(&wrapped[0], "0301")])
        .await
        .unwrap();
    let unwrapped = ok
        .into_iter()
        .next()
        .unwrap()
        .unwrap()
        .into_index_root()
        .unwrap();
    assert_eq!(unwrapped.id(), root.id());
    let other_tenant = kek
        .unwrap(&[UnwrapRequest::index_root(&wrapped[0], "4601")])
        .await
        .unwrap();
    assert!(matches!(other_tenant[0], Err(Error::UnwrapAuthentication)));
    let as_data_key = kek
        .unwrap(&[UnwrapRequest::data_key(&wrapped[0], "0301", "s")])
        .await
        .unwrap();
    assert!(matches!(as_data_key[0], Err(Error::WrongKeyKind { .. })));
}

#[tokio::test]
async fn rotation_keeps_old_versions_and_wraps_with_the_new_one() {
    let (dir, kek) = key_file().await;
    let old_key = data_key();
    let old = kek
        .wrap(&[WrapRequest::data_key(&old_key, "0301", "s")])
        .await
        .unwrap()
        .remove(0);
    assert_eq!(old.kek_version(), KekVersion::FIRST);

    let v2 = kek.rotate().await.unwrap();
    assert_eq!(v2.get(), 2);
    assert_eq!(kek.current_version().await.unwrap(), v2);
    assert_eq!(kek.versions(), vec![KekVersion::FIRST, v2]);

    let new_key = data_key();
    let new = kek
        .wrap(&[WrapRequest::data_key(&new_key, "0301", "s")])
        .await
        .unwrap()
        .remove(0);
    assert_eq!(new.kek_version(), v2);
    assert_same_key(
        &old_key,
        &unwrap_data_key(&kek, &old, "0301", "s").await.unwrap(),
    );
    assert_same_key(
        &new_key,
        &unwrap_data_key(&kek, &new, "0301", "s").await.unwrap(),
    );

    // The file on disk holds both versions, and a fresh load agrees.
    let reopened = LocalKeyFile::open(dir.path().join("kek")).await.unwrap();
    assert_eq!(reopened.current_version().await.unwrap(), v2);
    assert_same_key(
        &old_key,
        &unwrap_data_key(&reopened, &old, "0301", "s").await.unwrap(),
    );
    assert!(!dir.path().join("kek.rotate").exists());
}

#[tokio::test]
async fn rewrap_moves_keys_to_the_current_version() {
    let (_dir, kek) = key_file().await;
    let key = data_key();
    let old = kek
        .wrap(&[WrapRequest::data_key(&key, "0301", "s")])
        .await
        .unwrap()
        .remove(0);
    let v2 = kek.rotate().await.unwrap();
    let rewrapped = kek
        .rewrap(&[
            UnwrapRequest::data_key(&old, "0301", "s"),
            UnwrapRequest::data_key(&old, "0301", "x"),
        ])
        .await
        .unwrap();
    let mut rewrapped = rewrapped.into_iter();
    let first = rewrapped.next().unwrap().unwrap();
    assert_eq!(first.kek_version(), v2);
    assert_eq!(first.key_id(), key.id());
    assert_same_key(
        &key,
        &unwrap_data_key(&kek, &first, "0301", "s").await.unwrap(),
    );
    // The binding is kept: the rewrapped key still belongs to subject "s" only.
    assert!(unwrap_data_key(&kek, &first, "0301", "x").await.is_err());
    assert!(matches!(
        rewrapped.next().unwrap(),
        Err(Error::UnwrapAuthentication)
    ));
}

#[tokio::test]
async fn reload_picks_up_a_rotation_by_another_process() {
    let (dir, server) = key_file().await;
    let cli = LocalKeyFile::open(dir.path().join("kek")).await.unwrap();
    let v2 = cli.rotate().await.unwrap();
    let key = data_key();
    let wrapped = cli
        .wrap(&[WrapRequest::data_key(&key, "0301", "s")])
        .await
        .unwrap()
        .remove(0);

    assert!(matches!(
        unwrap_data_key(&server, &wrapped, "0301", "s").await,
        Err(Error::UnknownKekVersion { .. })
    ));
    server.reload().await.unwrap();
    assert_eq!(server.current_version().await.unwrap(), v2);
    assert_same_key(
        &key,
        &unwrap_data_key(&server, &wrapped, "0301", "s")
            .await
            .unwrap(),
    );

    // A rotation from the stale-then-reloaded instance keeps the other's version.
    let v3 = server.rotate().await.unwrap();
    assert_eq!(v3.get(), 3);
    cli.reload().await.unwrap();
    assert_eq!(cli.versions().len(), 3);
}

#[tokio::test]
async fn rotation_from_a_stale_instance_keeps_versions_it_did_not_know() {
    let (dir, a) = key_file().await;
    let b = LocalKeyFile::open(dir.path().join("kek")).await.unwrap();
    let v2 = b.rotate().await.unwrap();
    let v3 = a.rotate().await.unwrap();
    assert_eq!(v3.get(), 3);
    assert_eq!(a.versions(), vec![KekVersion::FIRST, v2, v3]);
}

#[tokio::test]
async fn rotation_refuses_while_a_rotate_file_exists() {
    let (dir, kek) = key_file().await;
    std::fs::write(dir.path().join("kek.rotate"), b"").unwrap();
    assert!(matches!(
        kek.rotate().await,
        Err(Error::KeyFileRotationPending { .. })
    ));
    assert_eq!(kek.current_version().await.unwrap(), KekVersion::FIRST);
}

#[tokio::test]
async fn create_refuses_to_overwrite() {
    let (dir, _kek) = key_file().await;
    let before = std::fs::read(dir.path().join("kek")).unwrap();
    let result = LocalKeyFile::create(dir.path().join("kek")).await;
    assert!(
        matches!(result, Err(Error::KeyFileExists { .. })),
        "{result:?}"
    );
    assert_eq!(std::fs::read(dir.path().join("kek")).unwrap(), before);
}

#[tokio::test]
async fn provider_is_usable_as_a_shared_trait_object() {
    let (_dir, kek) = key_file().await;
    let kek: Arc<dyn KekProvider> = Arc::new(kek);
    assert!(kek.description().starts_with("local key file "));
    let key = data_key();
    let wrapped = kek
        .wrap(&[WrapRequest::data_key(&key, "t", "s")])
        .await
        .unwrap();
    let handle = tokio::spawn({
        let kek = Arc::clone(&kek);
        let wrapped = wrapped[0].clone();
        async move {
            unwrap_data_key(kek.as_ref(), &wrapped, "t", "s")
                .await
                .map(|k| k.id())
        }
    });
    assert_eq!(handle.await.unwrap().unwrap(), key.id());
}

#[tokio::test]
async fn empty_batches_are_fine() {
    let (_dir, kek) = key_file().await;
    assert!(kek.wrap(&[]).await.unwrap().is_empty());
    assert!(kek.unwrap(&[]).await.unwrap().is_empty());
    assert!(kek.rewrap(&[]).await.unwrap().is_empty());
}

#[cfg(unix)]
mod permissions {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[tokio::test]
    async fn created_file_is_private() {
        let (dir, kek) = key_file().await;
        let mode = std::fs::metadata(dir.path().join("kek"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        kek.rotate().await.unwrap();
        let mode = std::fs::metadata(dir.path().join("kek"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "rotation must keep the file private");
    }

    #[tokio::test]
    async fn file_readable_by_group_or_others_is_refused() {
        let (dir, _kek) = key_file().await;
        let path = dir.path().join("kek");
        for mode in [0o640, 0o604, 0o660, 0o606, 0o644, 0o620] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = LocalKeyFile::open(&path).await.unwrap_err();
            assert!(
                matches!(err, Error::KeyFilePermissions { mode: m, .. } if m == mode),
                "{mode:o}: {err:?}"
            );
            let message = err.to_string();
            assert!(message.contains("chmod 600"), "{message}");
            assert!(message.contains(&format!("{mode:04o}")), "{message}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        LocalKeyFile::open(&path).await.unwrap();
    }
}

/// Malformed key files: refused, and the message never repeats the file's content.
mod malformed {
    use super::*;

    const KEY_A: &str = "3f1c9a0b7d2e4f6a8c0e2b4d6f8a1c3e5f7a9b1d3c5e7f9a0b2c4d6e8f0a1b2c";
    const KEY_B: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    async fn open_text(text: &[u8]) -> Error {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        write_private(&path, text);
        LocalKeyFile::open(&path).await.unwrap_err()
    }

    fn write_private(path: &std::path::Path, text: &[u8]) {
        std::fs::write(path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }

    fn valid() -> String {
        format!(
            "format = datavern-local-kek/1\nid = local:t\ncurrent = 2\nkey.1 = {KEY_A}\nkey.2 = {KEY_B}\n"
        )
    }

    #[tokio::test]
    async fn the_valid_fixture_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        write_private(&path, valid().as_bytes());
        let kek = LocalKeyFile::open(&path).await.unwrap();
        assert_eq!(kek.current_version().await.unwrap().get(), 2);
        assert_eq!(kek.id().as_str(), "local:t");
    }

    #[tokio::test]
    async fn errors_never_contain_the_files_bytes() {
        let cases: Vec<(String, &str)> = vec![
            (valid().replace(KEY_B, &KEY_B[..63]), "64 hex digits"),
            (
                valid().replace(KEY_B, &format!("{KEY_B}00")),
                "64 hex digits",
            ),
            (
                valid().replace(KEY_B, &KEY_B.replace('a', "g")),
                "64 hex digits",
            ),
            (
                valid().replace("key.2 =", &format!("{KEY_A} key.2 =")),
                "unknown setting",
            ),
            (format!("{}{KEY_A}\n", valid()), "name = value"),
            (valid().replace("key.1", "key.2"), "duplicate key version"),
            (valid().replace("key.1", "key.0"), "version number"),
            (valid().replace("current = 2", "current = 3"), "no key"),
            (valid().replace("current = 2\n", ""), "missing `current`"),
            (
                valid().replace("format = datavern-local-kek/1\n", ""),
                "missing `format`",
            ),
            (
                valid().replace("datavern-local-kek/1", KEY_A),
                "unsupported format",
            ),
            (
                valid().replace("id = local:t", &format!("id = {KEY_A} x")),
                "invalid kek id",
            ),
        ];
        for (text, expected) in cases {
            let err = open_text(text.as_bytes()).await;
            assert!(matches!(err, Error::MalformedKeyFile { .. }), "{err:?}");
            let shown = format!("{err} / {err:?}");
            assert!(shown.contains(expected), "expected {expected:?} in {shown}");
            for key in [KEY_A, KEY_B] {
                assert_no_key(&shown, key);
                // Nor any long run of the key's digits (a truncated key is still secret).
                for window in key.as_bytes().windows(16) {
                    assert!(
                        !shown.contains(std::str::from_utf8(window).unwrap()),
                        "{shown}"
                    );
                }
            }
        }
    }

    #[tokio::test]
    async fn binary_garbage_is_refused_without_echo() {
        let mut bytes = hex_bytes(KEY_A);
        bytes.extend_from_slice(&[0xff, 0xfe, 0x00]);
        let err = open_text(&bytes).await;
        let shown = format!("{err} / {err:?}");
        assert!(shown.contains("not valid utf-8"), "{shown}");
        assert_no_key(&shown, KEY_A);
    }

    #[tokio::test]
    async fn missing_file_is_an_io_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = LocalKeyFile::open(dir.path().join("nope"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::KeyFileIo { .. }));
        assert!(err.to_string().contains("nope"));
    }

    #[tokio::test]
    async fn debug_of_the_provider_shows_no_key_from_the_file() {
        let (dir, kek) = key_file().await;
        kek.rotate().await.unwrap();
        let text = std::fs::read_to_string(dir.path().join("kek")).unwrap();
        let keys = key_hexes(&text);
        assert_eq!(keys.len(), 2);
        for shown in [format!("{kek:?}"), format!("{kek:#?}"), kek.description()] {
            for key in &keys {
                assert_no_key(&shown, key);
            }
        }
        assert!(format!("{kek:?}").contains(kek.id().as_str()));
    }

    fn hex_bytes(s: &str) -> Vec<u8> {
        crate::hex_decode(s)
    }
}
