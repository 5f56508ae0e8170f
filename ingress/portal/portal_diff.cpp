#include "ingress/portal/portal_diff.hpp"

#include <array>

namespace stripe_sync::ingress {

namespace {

std::string get(const ObjectFields& o, const std::string& field) {
  auto it = o.find(field);
  return it == o.end() ? std::string() : it->second;
}

std::string shown(const std::string& v) { return v.empty() ? "(none)" : v; }

std::string card_label(const ObjectFields& pm) {
  std::string last4 = get(pm, "card_last4");
  return last4.empty() ? get(pm, "id") : last4;
}

void diff_customer(const ObjectFields& before, const ObjectFields& after, const CustomerState& state_after,
                   SyncReport& r) {
  struct Named {
    const char* field;
    const char* label;
  };
  static constexpr std::array kFields{Named{"email", "Email"}, Named{"name", "Name"}, Named{"phone", "Phone"}};
  for (const auto& f : kFields) {
    std::string b = get(before, f.field), a = get(after, f.field);
    if (b != a) {
      r.customer_updated = true;
      r.changes.push_back(std::string(f.label) + " updated: " + shown(b) + " → " + shown(a));
    }
  }
  if (get(before, "address") != get(after, "address")) {
    r.customer_updated = true;
    r.changes.push_back("Address updated");
  }
  std::string pm_before = get(before, "default_payment_method"), pm_after = get(after, "default_payment_method");
  if (pm_before != pm_after && !pm_after.empty()) {
    r.customer_updated = true;
    r.payment_method_updated = true;
    auto it = state_after.payment_methods.find(pm_after);
    r.changes.push_back("Payment method updated: " + (it == state_after.payment_methods.end() ? pm_after : card_label(it->second)));
  }
}

void diff_payment_methods(const CustomerState& before, const CustomerState& after, SyncReport& r) {
  // A new default card replacing the old one is one change ("Payment method updated: 4242"),
  // reported with the customer; its add and the old card's removal are not repeated here.
  std::string new_default = get(after.customer, "default_payment_method");
  std::string old_default = get(before.customer, "default_payment_method");
  bool default_changed = new_default != old_default && !new_default.empty();
  for (const auto& [id, pm] : after.payment_methods) {
    auto it = before.payment_methods.find(id);
    if (it == before.payment_methods.end()) {
      if (default_changed && id == new_default) continue;
      r.payment_method_updated = true;
      std::string brand = get(pm, "card_brand");
      r.changes.push_back("Payment method added: " + (brand.empty() ? "" : brand + " ") + card_label(pm));
    } else if (get(it->second, "card_exp_month") != get(pm, "card_exp_month") ||
               get(it->second, "card_exp_year") != get(pm, "card_exp_year")) {
      r.payment_method_updated = true;
      r.changes.push_back("Payment method updated: " + card_label(pm) + " expires " + get(pm, "card_exp_month") +
                          "/" + get(pm, "card_exp_year"));
    }
  }
  for (const auto& [id, pm] : before.payment_methods) {
    if (!after.payment_methods.count(id)) {
      if (default_changed && id == old_default) continue;
      r.payment_method_updated = true;
      r.changes.push_back("Payment method removed: " + card_label(pm));
    }
  }
}

void diff_subscriptions(const CustomerState& before, const CustomerState& after, SyncReport& r) {
  for (const auto& [id, sub] : after.subscriptions) {
    auto it = before.subscriptions.find(id);
    if (it == before.subscriptions.end()) {
      r.subscription_changed = true;
      r.changes.push_back("Subscription " + id + " started: " + get(sub, "status"));
      continue;
    }
    const ObjectFields& old = it->second;
    if (get(old, "status") != get(sub, "status")) {
      r.subscription_changed = true;
      r.changes.push_back("Subscription " + id + " status: " + get(old, "status") + " → " + get(sub, "status"));
    }
    if (get(old, "cancel_at_period_end") != get(sub, "cancel_at_period_end")) {
      r.subscription_changed = true;
      r.changes.push_back("Subscription " + id + (get(sub, "cancel_at_period_end") == "true"
                                                      ? " will cancel at the end of the period"
                                                      : " will no longer cancel at the end of the period"));
    }
    if (get(old, "items") != get(sub, "items")) {
      r.subscription_changed = true;
      r.changes.push_back("Subscription " + id + " plan changed");
    }
  }
  for (const auto& [id, sub] : before.subscriptions) {
    if (!after.subscriptions.count(id)) {
      r.subscription_changed = true;
      r.changes.push_back("Subscription " + id + " ended");
    }
  }
}

}  // namespace

SyncReport diff_states(const CustomerState& before, const CustomerState& after) {
  SyncReport r;
  diff_customer(before.customer, after.customer, after, r);
  diff_payment_methods(before, after, r);
  diff_subscriptions(before, after, r);
  return r;
}

}  // namespace stripe_sync::ingress
