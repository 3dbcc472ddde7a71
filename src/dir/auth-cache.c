/* auth-cache - the verified-login cache; see auth-cache.h. */
#include "dir/auth-cache.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define AUTH_CACHE_SLOTS 4096
#define AUTH_CACHE_ADDRESS_MAX 256
#define AUTH_CACHE_MAC_LEN 32

struct auth_cache_entry {
	char address[AUTH_CACHE_ADDRESS_MAX];
	unsigned char mac[AUTH_CACHE_MAC_LEN];
	uint64_t expires;      /* monotonic seconds; 0 = free slot */
};

static struct auth_cache_entry auth_cache[AUTH_CACHE_SLOTS];
static pthread_mutex_t auth_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned auth_cache_ttl = 3600;
static unsigned char auth_cache_key[32];
static bool auth_cache_key_ready;
static pthread_once_t auth_cache_key_once = PTHREAD_ONCE_INIT;

static void auth_cache_key_init(void)
{
	auth_cache_key_ready = RAND_bytes(auth_cache_key, sizeof(auth_cache_key)) == 1;
}

static uint64_t auth_cache_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

/* FNV-1a of the address: which slot it lives in. */
static size_t auth_cache_slot(const char *address)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)address; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return h % AUTH_CACHE_SLOTS;
}

/* MAC of (stored hash, password) under the process key. */
static bool auth_cache_mac(const char *stored_hash, const char *password,
			   unsigned char mac_r[AUTH_CACHE_MAC_LEN])
{
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	size_t len = 0;
	bool ok = false;

	pthread_once(&auth_cache_key_once, auth_cache_key_init);
	if (!auth_cache_key_ready)
		return false;
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL)
		return false;
	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	ctx = EVP_MAC_CTX_new(mac);
	if (ctx != NULL &&
	    EVP_MAC_init(ctx, auth_cache_key, sizeof(auth_cache_key), params) == 1 &&
	    EVP_MAC_update(ctx, (const unsigned char *)stored_hash, strlen(stored_hash) + 1) == 1 &&
	    EVP_MAC_update(ctx, (const unsigned char *)password, strlen(password)) == 1 &&
	    EVP_MAC_final(ctx, mac_r, &len, AUTH_CACHE_MAC_LEN) == 1 && len == AUTH_CACHE_MAC_LEN)
		ok = true;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok;
}

void auth_cache_set_ttl(unsigned seconds)
{
	pthread_mutex_lock(&auth_cache_lock);
	auth_cache_ttl = seconds;
	pthread_mutex_unlock(&auth_cache_lock);
	if (seconds == 0)
		auth_cache_clear();
}

bool auth_cache_lookup(const char *address, const char *stored_hash, const char *password)
{
	struct auth_cache_entry *e = &auth_cache[auth_cache_slot(address)];
	unsigned char mac[AUTH_CACHE_MAC_LEN];
	bool hit = false;

	if (!auth_cache_mac(stored_hash, password, mac))
		return false;
	pthread_mutex_lock(&auth_cache_lock);
	if (auth_cache_ttl != 0 && e->expires > auth_cache_now() &&
	    strcmp(e->address, address) == 0)
		hit = CRYPTO_memcmp(mac, e->mac, sizeof(mac)) == 0;
	pthread_mutex_unlock(&auth_cache_lock);
	OPENSSL_cleanse(mac, sizeof(mac));
	return hit;
}

void auth_cache_add(const char *address, const char *stored_hash, const char *password)
{
	struct auth_cache_entry *e = &auth_cache[auth_cache_slot(address)];
	unsigned char mac[AUTH_CACHE_MAC_LEN];

	if (strlen(address) >= AUTH_CACHE_ADDRESS_MAX ||
	    !auth_cache_mac(stored_hash, password, mac))
		return;
	pthread_mutex_lock(&auth_cache_lock);
	if (auth_cache_ttl != 0) {
		strcpy(e->address, address);
		memcpy(e->mac, mac, sizeof(mac));
		e->expires = auth_cache_now() + auth_cache_ttl;
	}
	pthread_mutex_unlock(&auth_cache_lock);
	OPENSSL_cleanse(mac, sizeof(mac));
}

void auth_cache_clear(void)
{
	pthread_mutex_lock(&auth_cache_lock);
	OPENSSL_cleanse(auth_cache, sizeof(auth_cache));
	pthread_mutex_unlock(&auth_cache_lock);
}
