#!/bin/busybox sh
# /init of the Aether x86 guest: busybox applets, the virtual file systems, a shell on ttyS0.
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /tmp /root
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
# The tab's files, shared by v86 over virtio 9p (tag host9p): the 686 kernel has 9p as modules,
# listed in /lib/modules/order each after those it depends on (worked out when the image is built).
for m in $(cat /lib/modules/order); do
  insmod /lib/modules/$m.ko 2>/dev/null
done
mkdir -p /mnt/files
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none host9p /mnt/files 2>/dev/null
hostname aether
export HOME=/root PATH=/bin:/sbin:/usr/bin:/usr/sbin TERM=xterm-256color
export PS1='root@aether:\w# '
cd /root
echo "aether: guest ready"
while true; do
  setsid cttyhack sh -l
done
