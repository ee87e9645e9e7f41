"""moto_server, with a refusal of Route 53's that moto lacks, and a fault on request.

Route 53 refuses a whole ChangeResourceRecordSets batch when one of its CREATEs names a
record set that exists ("Tried to create resource record set [name='...', type='...']
but it already exists"), unless the same batch deleted it first. moto 5 appends a second
set of that name and type instead, so a client that creates unread (as rigger does)
could not be tested against it. With RIGGER_TEST_REFUSE_PART=N in its environment, S3 refuses every upload of part N of
a multipart upload (400 InvalidRequest), for a test of an upload that fails midway.

The tests and benchmarks start moto through this file:
    .venv/bin/python tests/moto_server.py -H 127.0.0.1 -p PORT
"""

import os
import sys

from moto.route53.exceptions import ResourceRecordAlreadyExists
from moto.route53.models import Route53Backend
from moto.s3.exceptions import S3ClientError
from moto.s3.models import S3Backend
from moto.server import main


def _key(record_set):
    name = record_set["Name"].rstrip(".").lower() + "."
    return (name, record_set["Type"], record_set.get("SetIdentifier"))


_change = Route53Backend.change_resource_record_sets


def _strict_change(self, zoneid, change_list):
    zone = self.get_hosted_zone(zoneid)
    there = {(s.name.rstrip(".").lower() + ".", s.type, s.set_identifier) for s in zone.rrsets}
    # Changes apply in order, and the batch whole or not at all: nothing is changed
    # before every CREATE was checked against the sets as the earlier changes leave them.
    for change in change_list:
        key = _key(change["ResourceRecordSet"])
        if change["Action"] == "CREATE":
            if key in there:
                raise ResourceRecordAlreadyExists(name=key[0], _type=key[1])
            there.add(key)
        elif change["Action"] == "DELETE":
            there.discard(key)
        else:
            there.add(key)
    return _change(self, zoneid, change_list)


Route53Backend.change_resource_record_sets = _strict_change

_refused_part = int(os.environ.get("RIGGER_TEST_REFUSE_PART", "0"))
_upload_part = S3Backend.upload_part


def _refusing_upload_part(self, bucket_name, multipart_id, part_id, value):
    if int(part_id) == _refused_part:
        raise S3ClientError("InvalidRequest", f"part {part_id} refused (RIGGER_TEST_REFUSE_PART)")
    return _upload_part(self, bucket_name, multipart_id, part_id, value)


S3Backend.upload_part = _refusing_upload_part

if __name__ == "__main__":
    sys.exit(main())
