#pragma once
// The signed link Stripe sends the customer back with: the app's return page plus
//   session_id=..&customer_id=..&action=..&sig=..
// which that page passes on to GET /api/payment/portal/return.
// sig = hex HMAC-SHA256(PORTAL_RETURN_SECRET, session_id "\n" customer_id "\n" action), shared by
// every ingress instance. Checked in constant time. Pure.
#include <string>
#include <string_view>

namespace stripe_sync::ingress {

std::string return_signature(std::string_view secret, std::string_view session_id,
                             std::string_view customer_id, std::string_view action);

bool verify_return_signature(std::string_view secret, std::string_view session_id,
                             std::string_view customer_id, std::string_view action,
                             std::string_view sig);

// `page_url` may already carry a query; the signed parameters are appended to it.
std::string return_link(std::string_view page_url, std::string_view secret, std::string_view session_id,
                        std::string_view customer_id, std::string_view action);

}  // namespace stripe_sync::ingress
