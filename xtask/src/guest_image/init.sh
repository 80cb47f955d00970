#!/bin/busybox sh
# /init of the Aether x86 guest: busybox applets, the virtual file systems, a shell on ttyS0.
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /tmp /root
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
hostname aether
export HOME=/root PATH=/bin:/sbin:/usr/bin:/usr/sbin TERM=xterm-256color
export PS1='root@aether:\w# '
cd /root
echo "aether: guest ready"
while true; do
  setsid cttyhack sh -l
done
