package store

import "syscall"

func mountTmpfsAt(dir, size string) error {
	return syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size)
}

func unmount(dir string) { _ = syscall.Unmount(dir, syscall.MNT_DETACH) }
