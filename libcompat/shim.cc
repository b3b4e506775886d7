// Placeholder translation unit so the library target exists; the fork-mode
// shim replaces it.
namespace fcgi_compat {}
