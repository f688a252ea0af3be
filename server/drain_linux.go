package server

import (
	"net"
	"syscall"
	"unsafe"
)

// refuseNewConnections makes the kernel drop every new connection's first
// packet (a SYN without ACK) sent to ln, while handshakes under way and
// the connections already queued complete: these can then be accepted
// before ln is closed, instead of being reset with their requests unread.
// A client whose SYN is dropped tries again about a second later and is
// refused (the listener is closed by then): its request was never sent.
// It is a socket filter (classic BPF) on the TCP header the filter sees.
func refuseNewConnections(ln net.Listener) bool {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return false
	}
	raw, err := tl.SyscallConn()
	if err != nil {
		return false
	}
	const (
		ldAbsByte = syscall.BPF_LD | syscall.BPF_B | syscall.BPF_ABS
		jset      = syscall.BPF_JMP | syscall.BPF_JSET | syscall.BPF_K
		ret       = syscall.BPF_RET | syscall.BPF_K
		tcpFlags  = 13 // the flags' byte of the TCP header
		flagSYN   = 0x02
		flagACK   = 0x10
	)
	prog := []syscall.SockFilter{
		{Code: ldAbsByte, K: tcpFlags},
		{Code: jset, Jt: 1, K: flagACK}, // ACK: part of a handshake or a connection: keep
		{Code: jset, Jt: 1, K: flagSYN}, // SYN alone: a new connection: drop
		{Code: ret, K: 0xffffffff},
		{Code: ret, K: 0},
	}
	fprog := syscall.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	var errno syscall.Errno
	err = raw.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall6(syscall.SYS_SETSOCKOPT, fd, syscall.SOL_SOCKET, syscall.SO_ATTACH_FILTER,
			uintptr(unsafe.Pointer(&fprog)), unsafe.Sizeof(fprog), 0)
	})
	return err == nil && errno == 0
}
