/* smtp-bdat - the BDAT chunk tracker; see smtp-bdat.h. */
#include "smtp/smtp-bdat.h"

void smtp_bdat_init(struct smtp_bdat *b)
{
	*b = (struct smtp_bdat){ 0 };
}

enum smtp_bdat_result smtp_bdat_chunk(struct smtp_bdat *b, uint64_t size, bool last,
				      uint64_t max_total)
{
	b->remaining = size;
	if (b->last)
		return SMTP_BDAT_AFTER_LAST;
	if (size > max_total || b->total > max_total - size)
		return SMTP_BDAT_TOO_BIG;
	b->total += size;
	b->last = last;
	return SMTP_BDAT_OK;
}

size_t smtp_bdat_take(struct smtp_bdat *b, size_t available)
{
	size_t n = b->remaining < available ? (size_t)b->remaining : available;

	b->remaining -= n;
	return n;
}

bool smtp_bdat_complete(const struct smtp_bdat *b)
{
	return b->last && b->remaining == 0;
}
