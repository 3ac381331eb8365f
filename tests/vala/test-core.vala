// SPDX-License-Identifier: MIT
// Tensors and safetensors files through the generated Vala binding.

void test_tensor_from_floats () {
    try {
        var tensor = new Peftq.Tensor.from_floats ({ 1.0f, 2.0f, 3.0f, 4.0f }, { 2, 2 });
        assert (tensor.get_dtype () == Peftq.DType.F32);
        assert (tensor.get_n_elements () == 4);
        assert (tensor.get_shape ()[1] == 2);
        assert (tensor.to_floats ()[3] == 4.0f);
    } catch (Error e) {
        error ("unexpected error: %s", e.message);
    }
}

void test_shape_mismatch_error () {
    try {
        new Peftq.Tensor.from_floats ({ 1.0f, 2.0f, 3.0f }, { 2, 2 });
        assert_not_reached ();
    } catch (Peftq.Error.SHAPE_MISMATCH e) {
        assert ("3" in e.message);
    } catch (Error e) {
        error ("wrong error: %s", e.message);
    }
}

void test_safetensors_round_trip () {
    try {
        var dir = DirUtils.make_tmp ("peftq-vala-XXXXXX");
        var path = Path.build_filename (dir, "pair.safetensors");
        var writer = new Peftq.SafetensorsWriter ();
        writer.add_tensor ("weight", new Peftq.Tensor.from_floats ({ 0.5f, -1.5f }, { 2 }));
        writer.set_metadata ("format", "pt");
        writer.write (path);

        var file = Peftq.SafetensorsFile.open (path);
        var names = file.get_tensor_names ();
        assert (names.length == 1);
        assert (names[0] == "weight");
        assert (file.get_metadata_value ("format") == "pt");
        assert (file.get_tensor ("weight").to_floats ()[1] == -1.5f);

        FileUtils.unlink (path);
        DirUtils.remove (dir);
    } catch (Error e) {
        error ("unexpected error: %s", e.message);
    }
}

int main (string[] args) {
    Test.init (ref args);
    Test.add_func ("/peftq/vala/tensor-from-floats", test_tensor_from_floats);
    Test.add_func ("/peftq/vala/shape-mismatch-error", test_shape_mismatch_error);
    Test.add_func ("/peftq/vala/safetensors-round-trip", test_safetensors_round_trip);
    return Test.run ();
}
