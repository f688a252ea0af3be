//go:build !linux

package store

import "errors"

func mountTmpfsAt(dir, size string) error { return errors.New("tmpfs is Linux's") }

func unmount(dir string) {}
