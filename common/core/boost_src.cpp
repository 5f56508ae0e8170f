// The one translation unit that compiles Boost.Asio, Boost.Beast, Boost.JSON and Boost.URL.
// Every other file sees only their declarations (BOOST_*_SEPARATE_COMPILATION), which keeps
// a two-core build from compiling these libraries once per file.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
