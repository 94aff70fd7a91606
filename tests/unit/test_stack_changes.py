"""What an update of a stack changes (localcloud.template.changes): the local ROS updates only
those resources, and `make deploy` counts them."""

from __future__ import annotations

from localcloud.template.changes import Changes, changes, references

OLD = {
    "Svc": {"Type": "ALIYUN::FC::Service", "Properties": {"ServiceName": {"Ref": "Name"}}},
    "Fn": {
        "Type": "ALIYUN::FC::Function",
        "Properties": {
            "ServiceName": {"Fn::GetAtt": ["Svc", "ServiceName"]},
            "Code": {"OssBucketName": {"Ref": "Bucket"}, "OssObjectName": "fn-1.zip"},
            "EnvironmentVariables": {"LOGS": {"Fn::Sub": "${Name}-logs in ${ALIYUN::Region}"}},
        },
    },
    "Table": {"Type": "ALIYUN::OTS::Table", "Properties": {"TableName": "t"}},
}
VALUES = {"Name": "svc", "Bucket": "code", "Key": "****"}


def test_nothing_changed():
    assert changes(OLD, VALUES, OLD, dict(VALUES)) == Changes((), (), (), ("Svc", "Fn", "Table"))


def test_one_changed_declaration_is_one_update():
    new = {**OLD, "Fn": {**OLD["Fn"], "Properties": {**OLD["Fn"]["Properties"]}}}
    new["Fn"]["Properties"]["Code"] = {
        "OssBucketName": {"Ref": "Bucket"},
        "OssObjectName": "fn-2.zip",
    }
    found = changes(OLD, VALUES, new, VALUES)
    assert found == Changes((), ("Fn",), (), ("Svc", "Table"))
    assert found.summary() == "1 updated (Fn), 0 created, 0 deleted, 2 unchanged"


def test_a_changed_parameter_updates_what_refers_to_it_by_ref_or_sub():
    found = changes(OLD, VALUES, OLD, {**VALUES, "Name": "other"})
    assert found.updated == ("Svc", "Fn") and found.unchanged == ("Table",)
    # a parameter nothing refers to changes nothing; numbers compare as ROS reports them
    assert changes(OLD, {**VALUES, "N": 5}, OLD, {**VALUES, "N": "5"}).updated == ()


def test_parameters_that_cannot_be_compared_count_as_unchanged():
    assert changes(OLD, VALUES, OLD, {**VALUES, "Key": "s3cret"}, unknown={"Key"}).updated == ()


def test_created_and_deleted():
    new = {"Svc": OLD["Svc"], "Extra": OLD["Table"]}
    assert changes(OLD, VALUES, new, VALUES) == Changes(("Extra",), (), ("Fn", "Table"), ("Svc",))


def test_references_are_refs_and_sub_variables_not_attributes_or_local_names():
    node = {
        "A": {"Ref": "P"},
        "B": {"Fn::Sub": "${Q}/${Res.Arn}/${!Literal}"},
        "C": {"Fn::Sub": ["${x}-${R}", {"x": {"Ref": "S"}}]},
        "D": {"Fn::GetAtt": ["T", "Name"]},
    }
    assert references(node) == {"P", "Q", "R", "S"}
