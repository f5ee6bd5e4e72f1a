/* Milliseconds on the monotonic clock, for timeouts and rates. */
#ifndef OPT_CLOCK_H
#define OPT_CLOCK_H

long long opt_clock_ms(void);

#endif
