#pragma once
// Validating a portal configuration request (the seed's shape) and splitting it into what goes
// to Stripe (name, business_profile, features, default_return_url) and what we keep (branding:
// company_name, logo_url, colours, support_url: the portal's look is an account setting at
// Stripe, not part of the configurations API). Pure.
#include <string>
#include <vector>

#include <boost/json/object.hpp>

namespace stripe_sync::ingress {

struct ConfigurationRequest {
  boost::json::object stripe_params;  // for POST /v1/billing_portal/configurations[/{id}]
  boost::json::object branding;       // kept in Redis beside the configuration id
  std::vector<std::string> errors;    // "field: what is wrong", one per problem
};

// `creating`: features are required to create a configuration, optional to update one.
ConfigurationRequest validate_configuration(const boost::json::object& body, bool creating);

bool is_https_url(std::string_view s);
bool is_hex_colour(std::string_view s);  // #rrggbb

}  // namespace stripe_sync::ingress
