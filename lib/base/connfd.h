/*
 * connfd.h — the socket of a CivetWeb connection.
 *
 * CivetWeb does not hand out a connection's socket, but its peer address
 * and port name it: the one socket of this process connected from there
 * to our port. A scan of getpeername() over the open fds costs a
 * fraction of a millisecond, so only requests that need it do it (a
 * large inference, a body whose rate is watched).
 */
#ifndef TY_CONNFD_H
#define TY_CONNFD_H

struct mg_connection;

/* The connection's fd, or -1 when it cannot be told. */
int connfd_find(struct mg_connection *c);

#endif
