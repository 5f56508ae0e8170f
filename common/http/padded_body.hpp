#pragma once
// A Beast body that stores the request body in a std::string with kJsonPadding spare bytes of
// capacity past its end, so simdjson parses it in place: the body is read from the socket once
// and then only borrowed (signature check, envelope reader, producer).
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>
#include <algorithm>
#include <cstring>
#include <string>

#include "common/core/json_padding.hpp"

namespace stripe_sync {

struct PaddedStringBody {
  using value_type = std::string;

  static std::uint64_t size(const value_type& body) { return body.size(); }

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>& length, boost::beast::error_code& ec) {
      // The parser has already enforced its body limit on Content-Length.
      if (length) body_.reserve(static_cast<std::size_t>(*length) + kJsonPadding);
      ec = {};
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      std::size_t extra = boost::beast::buffer_bytes(buffers);
      std::size_t size = body_.size();
      if (size + extra + kJsonPadding > body_.capacity()) {
        // Chunked bodies grow geometrically, always keeping the padding free.
        body_.reserve(std::max(size + extra + kJsonPadding, body_.capacity() * 2));
      }
      body_.resize(size + extra);
      char* dest = body_.data() + size;
      for (auto b : boost::beast::buffers_range_ref(buffers)) {
        std::memcpy(dest, b.data(), b.size());
        dest += b.size();
      }
      ec = {};
      return extra;
    }

    void finish(boost::beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

}  // namespace stripe_sync
