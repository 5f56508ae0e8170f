#include "ingress/portal/return_link.hpp"

#include <openssl/crypto.h>

#include "common/stripe/form_encoding.hpp"
#include "common/stripe/signature.hpp"

namespace stripe_sync::ingress {

std::string return_signature(std::string_view secret, std::string_view session_id,
                             std::string_view customer_id, std::string_view action) {
  // The separator cannot occur in Stripe ids or our action names, so no two triples collide.
  std::string message = std::string(session_id) + "\n" + std::string(customer_id);
  return compute_signature(secret, message, action);  // HMAC over message "." action
}

bool verify_return_signature(std::string_view secret, std::string_view session_id,
                             std::string_view customer_id, std::string_view action,
                             std::string_view sig) {
  std::string expected = return_signature(secret, session_id, customer_id, action);
  return sig.size() == expected.size() && CRYPTO_memcmp(sig.data(), expected.data(), expected.size()) == 0;
}

std::string return_link(std::string_view page_url, std::string_view secret, std::string_view session_id,
                        std::string_view customer_id, std::string_view action) {
  std::string page(page_url.substr(0, page_url.find('#')));
  char joiner = page.find('?') == std::string::npos ? '?' : '&';
  return page + joiner + "session_id=" + percent_encode(session_id) +
         "&customer_id=" + percent_encode(customer_id) + "&action=" + percent_encode(action) +
         "&sig=" + return_signature(secret, session_id, customer_id, action);
}

}  // namespace stripe_sync::ingress
