/* timer.h: monotonic wall-clock time for latency and throughput figures. */
#ifndef FC_TIMER_H
#define FC_TIMER_H

/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC); only differences mean anything. */
double fc_time_now(void);

#endif
