/* A stand-in for "libcrypto.so" (see ssl_shim.cc): soname "libcrypto.so",
 * depends on the real libcrypto.so.3, where dlsym finds every function. */
extern "C" int earshot_crypto_shim_marker(void);
extern "C" int earshot_crypto_shim_marker(void) { return 1; }
