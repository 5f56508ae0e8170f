#include "ingress/portal/portal_configuration.hpp"

#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <initializer_list>

namespace stripe_sync::ingress {

namespace json = boost::json;

bool is_https_url(std::string_view s) {
  auto u = boost::urls::parse_absolute_uri(s);
  return u && u->scheme() == "https" && !u->host().empty();
}

bool is_hex_colour(std::string_view s) {
  return s.size() == 7 && s[0] == '#' && s.find_first_not_of("0123456789abcdefABCDEF", 1) == std::string_view::npos;
}

namespace {

using Names = std::initializer_list<std::string_view>;

bool one_of(std::string_view v, Names allowed) {
  for (auto a : allowed)
    if (a == v) return true;
  return false;
}

class Checker {
 public:
  explicit Checker(std::vector<std::string>& errors) : errors_(errors) {}
  void fail(const std::string& field, const std::string& why) { errors_.push_back(field + ": " + why); }

  // Copies the object's known keys to `out`, checking each with `check`; unknown keys fail.
  template <class Check>
  void object(const json::value& v, const std::string& field, Names known, json::object& out, Check check) {
    if (!v.is_object()) return fail(field, "must be an object");
    for (const auto& kv : v.as_object()) {
      std::string name(kv.key());
      if (!one_of(name, known)) {
        fail(field + "." + name, "is not a known field");
        continue;
      }
      check(name, kv.value(), field + "." + name, out);
    }
  }
  void boolean(const json::value& v, const std::string& field, json::object& out, const std::string& name) {
    if (!v.is_bool()) return fail(field, "must be true or false");
    out[name] = v;
  }
  void text(const json::value& v, const std::string& field, json::object& out, const std::string& name) {
    if (!v.is_string()) return fail(field, "must be a string");
    out[name] = v;
  }
  void https(const json::value& v, const std::string& field, json::object& out, const std::string& name) {
    if (!v.is_string() || !is_https_url(v.as_string())) return fail(field, "must be an https URL");
    out[name] = v;
  }
  void choice(const json::value& v, const std::string& field, Names allowed, json::object& out, const std::string& name) {
    if (!v.is_string() || !one_of(v.as_string(), allowed)) return fail(field, "must be one of " + list(allowed));
    out[name] = v;
  }
  void choices(const json::value& v, const std::string& field, Names allowed, json::object& out, const std::string& name) {
    if (!v.is_array()) return fail(field, "must be a list");
    for (const auto& item : v.as_array()) {
      if (!item.is_string() || !one_of(item.as_string(), allowed)) return fail(field, "may only contain " + list(allowed));
    }
    out[name] = v;
  }

 private:
  static std::string list(Names allowed) {
    std::string s;
    for (auto a : allowed) s += (s.empty() ? "" : ", ") + std::string(a);
    return s;
  }
  std::vector<std::string>& errors_;
};

const Names kAllowedUpdates{"address", "email", "name", "phone", "shipping", "tax_id"};
const Names kCancelReasons{"customer_service", "low_quality", "missing_features", "other",
                               "switched_service", "too_complex", "too_expensive", "unused"};
const Names kProration{"always_invoice", "create_prorations", "none"};

void check_feature(Checker& c, const std::string& name, const json::value& v, const std::string& field, json::object& out) {
  json::object f;
  auto enabled = [&](const std::string& k, const json::value& x, const std::string& p, json::object& o) {
    if (k == "enabled") c.boolean(x, p, o, k);
  };
  if (name == "customer_update") {
    c.object(v, field, {"enabled", "allowed_updates"}, f, [&](const std::string& k, const json::value& x, const std::string& p, json::object& o) {
      if (k == "allowed_updates") c.choices(x, p, kAllowedUpdates, o, k);
      else enabled(k, x, p, o);
    });
  } else if (name == "subscription_cancel") {
    c.object(v, field, {"enabled", "mode", "proration_behavior", "cancellation_reason"}, f,
             [&](const std::string& k, const json::value& x, const std::string& p, json::object& o) {
               if (k == "mode") c.choice(x, p, {"at_period_end", "immediately"}, o, k);
               else if (k == "proration_behavior") c.choice(x, p, kProration, o, k);
               else if (k == "cancellation_reason") {
                 json::object reason;
                 c.object(x, p, {"enabled", "options"}, reason, [&](const std::string& rk, const json::value& rx, const std::string& rp, json::object& ro) {
                   if (rk == "options") c.choices(rx, rp, kCancelReasons, ro, rk);
                   else enabled(rk, rx, rp, ro);
                 });
                 o[k] = std::move(reason);
               } else enabled(k, x, p, o);
             });
  } else if (name == "subscription_update") {
    c.object(v, field, {"enabled", "default_allowed_updates", "proration_behavior"}, f,
             [&](const std::string& k, const json::value& x, const std::string& p, json::object& o) {
               if (k == "default_allowed_updates") c.choices(x, p, {"price", "promotion_code", "quantity"}, o, k);
               else if (k == "proration_behavior") c.choice(x, p, kProration, o, k);
               else enabled(k, x, p, o);
             });
  } else {  // invoice_history, payment_method_update, subscription_pause: just enabled
    c.object(v, field, {"enabled"}, f, enabled);
  }
  out[name] = std::move(f);
}

}  // namespace

ConfigurationRequest validate_configuration(const json::object& body, bool creating) {
  ConfigurationRequest r;
  Checker c(r.errors);
  for (const auto& kv : body) {
    std::string name(kv.key());
    const json::value& v = kv.value();
    if (name == "name") {
      c.text(v, name, r.stripe_params, name);
    } else if (name == "default_return_url") {
      c.https(v, name, r.stripe_params, name);
    } else if (name == "business_profile") {
      json::object bp;
      c.object(v, name, {"headline", "privacy_policy_url", "terms_of_service_url", "support_url"}, bp,
               [&](const std::string& k, const json::value& x, const std::string& p, json::object& o) {
                 if (k == "headline") c.text(x, p, o, k);
                 else if (k == "support_url") c.https(x, p, r.branding, k);  // not a Stripe field
                 else c.https(x, p, o, k);
               });
      r.stripe_params[name] = std::move(bp);
    } else if (name == "features") {
      json::object features;
      c.object(v, name, {"customer_update", "invoice_history", "payment_method_update", "subscription_cancel",
                         "subscription_pause", "subscription_update"},
               features, [&](const std::string& k, const json::value& x, const std::string& p, json::object& o) {
                 check_feature(c, k, x, p, o);
               });
      r.stripe_params[name] = std::move(features);
    } else if (name == "branding") {
      c.object(v, name, {"company_name", "logo_url", "primary_color", "secondary_color", "support_url"}, r.branding,
               [&](const std::string& k, const json::value& x, const std::string& p, json::object& o) {
                 if (k == "company_name") c.text(x, p, o, k);
                 else if (k == "primary_color" || k == "secondary_color") {
                   if (!x.is_string() || !is_hex_colour(x.as_string())) c.fail(p, "must be a colour as #rrggbb");
                   else o[k] = x;
                 } else c.https(x, p, o, k);
               });
    } else {
      c.fail(name, "is not a known field");
    }
  }
  if (creating && !body.contains("features")) c.fail("features", "is required to create a configuration");
  return r;
}

}  // namespace stripe_sync::ingress
