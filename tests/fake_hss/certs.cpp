// Generates the fake HSS's CA and server certificate (see certs.hpp) with
// the OpenSSL 3 API only: EVP_PKEY keys, X509v3 extensions, SHA-256. Every
// OpenSSL object lives in a unique_ptr so an early throw leaks nothing.
#include "fake_hss/certs.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace fake_hss {

namespace {

template <auto Free>
struct deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO_free_all>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, deleter<X509_EXTENSION_free>>;
using bn_ptr = std::unique_ptr<BIGNUM, deleter<BN_free>>;

[[noreturn]] void fail(const char* what) {
  char buf[256] = "no OpenSSL error";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  throw std::runtime_error(std::string("fake_hss certs: ") + what + ": " + buf);
}

void check(int ok, const char* what) {
  if (ok <= 0) fail(what);
}

pkey_ptr make_p256_key() {
  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) fail("EVP_EC_gen");
  return key;
}

void set_random_serial(X509* cert) {
  // 127 random bits: positive, unique enough that a browser-style cache of
  // a previous run's certificate never collides with this one.
  unsigned char bytes[16];
  check(RAND_bytes(bytes, sizeof bytes), "RAND_bytes");
  bytes[0] &= 0x7f;
  bn_ptr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!bn) fail("BN_bin2bn");
  check(BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr, "serial");
}

void set_name(X509_NAME* name, const char* cn) {
  check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("hss-jobwatch fake HSS"),
                                   -1, -1, 0),
        "subject O");
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(cn), -1, -1, 0),
        "subject CN");
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ext_ptr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext) fail(value);
  check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

// A v3 certificate for `key` named `cn`, valid from an hour ago (clock skew
// between test processes is not what tests are about).
x509_ptr new_cert(EVP_PKEY* key, const char* cn, std::chrono::hours valid_for) {
  x509_ptr cert(X509_new());
  if (!cert) fail("X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");
  set_random_serial(cert.get());
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600)) fail("notBefore");
  if (!X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(valid_for.count()) * 3600))
    fail("notAfter");
  check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");
  set_name(X509_get_subject_name(cert.get()), cn);
  return cert;
}

std::string to_pem(X509* cert) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio) fail("BIO_new");
  check(PEM_write_bio_X509(bio.get(), cert), "PEM_write_bio_X509");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string to_pem(EVP_PKEY* key) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio) fail("BIO_new");
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
        "PEM_write_bio_PrivateKey");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

tls_material generate_tls_material(std::chrono::hours valid_for) {
  pkey_ptr ca_key = make_p256_key();
  x509_ptr ca = new_cert(ca_key.get(), "hss-jobwatch fake HSS CA", valid_for);
  check(X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get())), "CA issuer");
  add_ext(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_ext(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  add_ext(ca.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  check(X509_sign(ca.get(), ca_key.get(), EVP_sha256()), "sign CA");

  pkey_ptr key = make_p256_key();
  x509_ptr leaf = new_cert(key.get(), "localhost", valid_for);
  check(X509_set_issuer_name(leaf.get(), X509_get_subject_name(ca.get())), "leaf issuer");
  add_ext(leaf.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(leaf.get(), ca.get(), NID_key_usage, "critical,digitalSignature,keyAgreement");
  add_ext(leaf.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  add_ext(leaf.get(), ca.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  add_ext(leaf.get(), ca.get(), NID_subject_key_identifier, "hash");
  add_ext(leaf.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  check(X509_sign(leaf.get(), ca_key.get(), EVP_sha256()), "sign leaf");

  return {to_pem(ca.get()), to_pem(leaf.get()), to_pem(key.get())};
}

}  // namespace fake_hss
