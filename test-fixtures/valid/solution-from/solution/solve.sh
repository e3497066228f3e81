#!/bin/sh
mkdir -p output && echo hi > output/greeting.txt
