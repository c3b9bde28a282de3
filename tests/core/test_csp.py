from studyrec_lib.core.csp import script_hash_source

EMPTY_SHA256_BASE64 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="  # sha256 of no bytes, as CSP writes it


def test_a_hash_source_is_the_base64_sha256_of_the_exact_script_text():
    assert script_hash_source("") == script_hash_source(b"") == f"'sha256-{EMPTY_SHA256_BASE64}'"
    assert script_hash_source("alert(1)") != script_hash_source("alert(1) ")  # one space is another script

