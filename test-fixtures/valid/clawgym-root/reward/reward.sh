#!/bin/bash
python3 /root/.openclaw/workspace/reward/check.py
