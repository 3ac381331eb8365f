// SPDX-License-Identifier: MIT
// The eleven steps of the LoRA quantization flow through the generated Vala binding: on a
// Linear(10, 10) model with LoRA r=4, alpha=16 on `linear`, and on stories260K with its
// qv_r4 adapter.

const string LINEAR = "base_model.model.linear";

Peftq.Tensor random_tensor (Rand rand, int64[] shape) throws Error {
    int64 n = 1;
    foreach (var dim in shape) {
        n *= dim;
    }
    var values = new float[n];
    for (int64 i = 0; i < n; i++) {
        values[i] = (float) rand.double_range (-1, 1);
    }
    return new Peftq.Tensor.from_floats (values, shape);
}

bool file_exists (string dir, string name) {
    return FileUtils.test (Path.build_filename (dir, name), FileTest.EXISTS);
}

void remove_tree (string dir) {
    try {
        var folder = Dir.open (dir);
        for (var name = folder.read_name (); name != null; name = folder.read_name ()) {
            FileUtils.unlink (Path.build_filename (dir, name));
        }
    } catch (FileError e) {
        warning ("cannot list %s: %s", dir, e.message);
    }
    DirUtils.remove (dir);
}

Peftq.AffineQuantizer affine (Peftq.QuantSim sim, string name) {
    var quantizer = sim.get_quantizer (name);
    assert (quantizer is Peftq.AffineQuantizer);
    return (Peftq.AffineQuantizer) quantizer;
}

// Steps 1 to 5 on the toy model, and the simulation.
class Toy {
    public string dir;
    public Peftq.PeftModel model;
    public Peftq.LoraLayer layer;
    public Peftq.PeftQuantUtils utils;
    public Peftq.Tensor dummy;
    public Peftq.QuantSim sim;

    public Toy () throws Error {
        var rand = new Rand.with_seed (11);
        dir = DirUtils.make_tmp ("peftq-vala-flow-XXXXXX");
        var root = new Peftq.Sequential ();
        root.append ("linear", new Peftq.Linear.with_weights (random_tensor (rand, { 10, 10 }),
                                                              random_tensor (rand, { 10 })));
        model = Peftq.get_peft_model (root, new Peftq.LoraConfig (4, 16, { "linear" }), null);
        uint n_replaced;
        Peftq.replace_lora_layers_with_quantizable_layers (model, out n_replaced);
        assert (n_replaced == 1);
        layer = (Peftq.LoraLayer) model.find_module (LINEAR);
        layer.set_adapter_weights (0, random_tensor (rand, { 4, 10 }), random_tensor (rand, { 10, 4 }));
        Peftq.save_lora_weights_after_adaptation (model, dir, "lora_weights_after_adaptation_for_adapter1");
        var meta = Peftq.track_lora_meta_data (model, dir, "meta_data", Type.NONE);
        utils = new Peftq.PeftQuantUtils (meta, null);
        dummy = random_tensor (rand, { 10, 10 });
        sim = new Peftq.QuantSim (model, dummy, null, Peftq.QuantScheme.TF, 8, 8);
    }

    public bool forward (Peftq.Module module) throws Error {
        module.forward_one (null, dummy);
        return true;
    }
}

void test_toy_flow () {
    try {
        var toy = new Toy ();
        var dir = toy.dir;
        assert (file_exists (dir, "lora_weights_after_adaptation_for_adapter1.safetensor"));
        assert (file_exists (dir, "meta_data.json"));

        // Step 6
        toy.utils.disable_lora_adapters (toy.sim);
        foreach (var value in toy.layer.get_lora_b (0).get_parameter ("weight").to_floats ()) {
            assert (value == 0.0f);
        }
        // Step 7
        toy.sim.compute_encodings (toy.forward);
        toy.utils.freeze_base_model_param_quantizers (toy.sim);
        assert (!affine (toy.sim, LINEAR + ".base_layer.weight").allow_overwrite);
        assert (affine (toy.sim, LINEAR + ".lora_A.0.weight").allow_overwrite);
        // Step 8
        toy.sim.export (dir, "model", toy.dummy, true, "base_encodings");
        assert (file_exists (dir, "model.onnx"));
        assert (file_exists (dir, "base_encodings.encodings"));
        assert (file_exists (dir, "base_encodings_torch.encodings"));
        // Step 9
        var weights_path = Path.build_filename (dir, "lora_weights_after_adaptation_for_adapter1.safetensor");
        toy.utils.enable_adapter_and_load_weights (toy.sim, weights_path);
        var saved = Peftq.SafetensorsFile.open (weights_path);
        assert (toy.layer.get_lora_b (0).get_parameter ("weight").equal (saved.get_tensor (LINEAR + ".lora_B.0.weight")));
        // Step 10
        string[] names;
        var modules = toy.utils.get_quantized_lora_layer (toy.sim, out names);
        assert (modules.length == 2);
        assert (strv_length (names) == 2);
        assert (names[0] == LINEAR + ".lora_A.0");
        assert (names[1] == LINEAR + ".lora_B.0");
        toy.sim.set_quantizer (LINEAR + ".lora_A.0.weight", new Peftq.AffineQuantizer (16, true));
        // Step 11
        toy.sim.compute_encodings (toy.forward);
        toy.sim.export (dir, "model", null, false, "adapter1");
        toy.utils.export_adapter_weights (toy.sim, dir, "adapter1_weights", Path.build_filename (dir, "model.onnx"));
        assert (file_exists (dir, "adapter1.encodings"));
        assert (file_exists (dir, "adapter1_torch.encodings"));
        assert (file_exists (dir, "adapter1_weights.safetensor"));
        var encodings = new Peftq.EncodingsFile.from_file (Path.build_filename (dir, "adapter1.encodings"));
        assert (encodings.get_param_encoding (LINEAR + ".lora_A.0.weight").get_bitwidth () == 16);
        remove_tree (dir);
    } catch (Error e) {
        error ("unexpected error: %s", e.message);
    }
}

void test_encoding_changed () {
    try {
        var toy = new Toy ();
        var quantizer = affine (toy.sim, LINEAR + ".lora_A.0.weight");
        int quantizer_changes = 0;
        string[] detailed = {};
        uint every = 0;
        bool carries_quantizer = false;
        quantizer.encoding_changed.connect (() => { quantizer_changes++; });
        toy.sim.encoding_changed[LINEAR + ".lora_A.0.weight"].connect ((name, changed) => {
            detailed += name;
        });
        toy.sim.encoding_changed.connect ((name, changed) => {
            every++;
            if (name == LINEAR + ".lora_A.0.weight" && changed == quantizer) {
                carries_quantizer = true;
            }
        });

        toy.sim.compute_encodings (toy.forward);

        assert (quantizer_changes == 1);
        assert (detailed.length == 1);
        assert (detailed[0] == LINEAR + ".lora_A.0.weight");
        assert (every == toy.sim.get_n_quantizers ());
        assert (carries_quantizer);
        remove_tree (toy.dir);
    } catch (Error e) {
        error ("unexpected error: %s", e.message);
    }
}

void test_missing_onnx_error () {
    try {
        var toy = new Toy ();
        try {
            toy.sim.export (toy.dir, "model", null, false, "adapter1");
            assert_not_reached ();
        } catch (Peftq.Error.NOT_FOUND e) {
            assert ("model.onnx" in e.message);
        }
        remove_tree (toy.dir);
    } catch (Error e) {
        error ("unexpected error: %s", e.message);
    }
}

string? test_data (string first, ...) {
    var root = Environment.get_variable ("PEFTQ_TESTDATA");
    if (root == null || root == "") {
        return null;
    }
    var path = root;
    var parts = va_list ();
    for (string? part = first; part != null; part = parts.arg ()) {
        path = Path.build_filename (path, part);
    }
    return FileUtils.test (path, FileTest.EXISTS) ? path : null;
}

void test_stories_flow () {
    var model_dir = test_data ("stories260K", null);
    var adapter_dir = test_data ("stories260K-adapters", "qv_r4", null);
    var calibration = test_data ("calibration", "calibration_ids.safetensors", null);
    var eval_ids = test_data ("expected", "eval_input_ids.json", null);
    if (model_dir == null || adapter_dir == null || calibration == null || eval_ids == null) {
        Test.skip ("stories260K, its qv_r4 adapter, the calibration ids or the evaluation ids are missing; "
                   + "set PEFTQ_TESTDATA");
        return;
    }
    // Each export warns that the tied lm_head weight has no initializer of its own in the
    // ONNX model; the warning is expected here, so only criticals stay fatal.
    Log.set_always_fatal (LogLevelFlags.LEVEL_ERROR | LogLevelFlags.LEVEL_CRITICAL);
    try {
        var dir = DirUtils.make_tmp ("peftq-vala-stories-XXXXXX");
        var prefix = "lora_weights_after_adaptation_for_qv_r4";

        // Steps 1 to 5
        var model = new Peftq.PeftModel (Peftq.CausalLM.load (model_dir));
        model.load_adapter (adapter_dir, null);
        uint n_replaced;
        Peftq.replace_lora_layers_with_quantizable_layers (model, out n_replaced);
        assert (n_replaced == 10);
        Peftq.save_lora_weights_after_adaptation (model, dir, prefix);
        var utils = new Peftq.PeftQuantUtils (Peftq.track_lora_meta_data (model, dir, "meta_data", Type.NONE), null);
        var ids = Peftq.load_token_ids (eval_ids);
        var sim = new Peftq.QuantSim (model, ids, null, Peftq.QuantScheme.TF, 16, 8);
        uint query_changes = 0;
        sim.encoding_changed["base_model.model.model.layers.0.self_attn.q_proj.lora_A.0.weight"].connect (() => {
            query_changes++;
        });

        // Steps 6 to 8
        utils.disable_lora_adapters (sim);
        sim.compute_encodings_from_file (calibration, 0);
        utils.freeze_base_model_param_quantizers (sim);
        sim.export (dir, "model", ids, true, "base_encodings");
        var zero_logits = sim.forward (ids).to_floats ();
        // Steps 9 to 11
        utils.enable_adapter_and_load_weights (sim, Path.build_filename (dir, prefix + ".safetensor"));
        string[] names;
        var modules = utils.get_quantized_lora_layer (sim, out names);
        sim.compute_encodings_from_file (calibration, 0);
        sim.export (dir, "model", null, false, "qv_r4");
        utils.export_adapter_weights (sim, dir, "qv_r4_weights", Path.build_filename (dir, "model.onnx"));
        var adapter_logits = sim.forward (ids).to_floats ();

        assert (file_exists (dir, "model.onnx"));
        assert (file_exists (dir, "base_encodings.encodings"));
        assert (file_exists (dir, "qv_r4.encodings"));
        assert (file_exists (dir, "qv_r4_torch.encodings"));
        assert (file_exists (dir, "qv_r4_weights.safetensor"));
        // Five layers with q_proj and v_proj, each with lora_A and lora_B.
        assert (modules.length == 20);
        assert (query_changes >= 2);
        bool differs = false;
        for (int i = 0; i < zero_logits.length; i++) {
            differs |= zero_logits[i] != adapter_logits[i];
        }
        assert (differs);
        remove_tree (dir);
    } catch (Error e) {
        error ("unexpected error: %s", e.message);
    }
}

int main (string[] args) {
    Test.init (ref args);
    Test.add_func ("/peftq/vala/flow/toy", test_toy_flow);
    Test.add_func ("/peftq/vala/flow/encoding-changed", test_encoding_changed);
    Test.add_func ("/peftq/vala/flow/missing-onnx", test_missing_onnx_error);
    Test.add_func ("/peftq/vala/flow/stories260K", test_stories_flow);
    return Test.run ();
}
