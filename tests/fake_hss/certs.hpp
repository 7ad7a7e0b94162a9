// TLS material for the fake HSS, generated at start with the OpenSSL 3 API:
// a throw-away CA (EC P-256, CA:TRUE, keyCertSign) and a server certificate
// it signs for DNS:localhost and IP:127.0.0.1. Generating them (instead of
// checking in fixtures) means no test ever fails on an expired certificate.
#pragma once

#include <chrono>
#include <string>

namespace fake_hss {

struct tls_material {
  std::string ca_cert_pem;      // what clients trust (tls.ca_file)
  std::string server_cert_pem;  // leaf only
  std::string server_key_pem;   // PKCS#8, unencrypted
};

// Throws std::runtime_error (with OpenSSL's reason) if OpenSSL fails:
// nothing a caller could recover from.
tls_material generate_tls_material(std::chrono::hours valid_for = std::chrono::hours{24 * 30});

}  // namespace fake_hss
